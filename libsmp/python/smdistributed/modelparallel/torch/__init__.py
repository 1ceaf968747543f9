"""smdistributed.modelparallel.torch — SageMaker model parallelism (SMP v1) on libsmp.

    import smdistributed.modelparallel.torch as smp

The public names of SMP v1. Pipeline parallelism, data parallelism (ddp), microbatches, both
schedules, manual and auto partitioning of the whole module tree, checkpoints and the object
collectives are implemented; tensor parallelism, fp16/bf16, activation checkpointing/offloading,
sharded data parallelism and delayed parameter initialization raise an error naming the feature
when a script asks for them.

As in SMP 1.12, importing this package calls init() itself when SM_HP_MP_PARAMETERS and
OMPI_COMM_WORLD_RANK are set (SageMaker, smp-local, or mpirun with the variable); set
SMP_MANUAL_INIT=1 to prevent that.
"""

import os
import sys
import types

import torch  # noqa: F401  (loads libtorch before the extension)

from smdistributed.modelparallel.torch import _smplib as smplib  # noqa: F401
from smdistributed.modelparallel.torch import amp, exceptions, features, nn  # noqa: F401
from smdistributed.modelparallel.torch.checkpoint import (  # noqa: F401
    load, resume_from_checkpoint, save, save_checkpoint)
from smdistributed.modelparallel.torch.comm import *  # noqa: F401,F403
from smdistributed.modelparallel.torch.comm import (  # noqa: F401
    CommGroup, RankType, WORLD, PP_GROUP, TP_GROUP, RDP_GROUP, DP_GROUP, MP_GROUP, allgather,
    barrier, broadcast, dp_barrier, gather, mp_barrier, pp_barrier, rdp_barrier, recv_from, send,
    tp_barrier)
from smdistributed.modelparallel.torch.core import *  # noqa: F401,F403
from smdistributed.modelparallel.torch.core import (  # noqa: F401
    dp_rank, dp_size, get_dp_group, get_dp_process_group, get_mp_group, get_mp_process_group,
    get_pp_group, get_pp_process_group, get_rdp_group, get_rdp_process_group, get_tp_group,
    get_tp_process_group, get_world_process_group, init, is_initialized, is_tracing, local_rank,
    local_size, mp_rank, mp_size, num_microbatches, pp_rank, pp_size, rank, rdp_rank, rdp_size,
    reset, shutdown, size, state, tp_rank, tp_size)
from smdistributed.modelparallel.torch.features import (  # noqa: F401
    checkpoint, delay_param_initialization, model_creation, set_activation_checkpointing,
    set_tensor_parallelism, tensor_parallelism, tp_register, tp_register_with_module)
from smdistributed.modelparallel.torch import model  # noqa: F401
from smdistributed.modelparallel.torch.model import DistributedModel  # noqa: F401
from smdistributed.modelparallel.torch.module_manager import partition, set_partition  # noqa: F401
from smdistributed.modelparallel.torch.optimizer import DistributedOptimizer  # noqa: F401
from smdistributed.modelparallel.torch.step import StepOutput, step  # noqa: F401

optimizers = types.SimpleNamespace(FusedAdam=features.FusedAdam, FusedLAMB=features.FusedLAMB,
                                   FusedNovoGrad=features.FusedNovoGrad)
patches = types.SimpleNamespace(checkpoint=types.SimpleNamespace(
    checkpoint=features.checkpoint, checkpoint_sequential=features.checkpoint_sequential))


def param_shard_rank():
    return 0


def param_shard_size():
    return 1


__all__ = [
    "init", "is_initialized", "is_tracing", "reset", "shutdown", "num_microbatches", "rank", "size",
    "local_rank", "local_size", "dp_rank", "dp_size", "pp_rank", "pp_size", "tp_rank", "tp_size",
    "rdp_rank", "rdp_size", "mp_rank", "mp_size", "get_dp_group", "get_pp_group", "get_tp_group",
    "get_rdp_group", "get_mp_group", "get_world_process_group", "get_dp_process_group",
    "get_mp_process_group", "get_pp_process_group", "get_tp_process_group",
    "get_rdp_process_group", "CommGroup", "RankType", "broadcast", "send", "recv_from",
    "allgather", "barrier", "dp_barrier", "mp_barrier", "pp_barrier", "tp_barrier",
    "rdp_barrier", "DistributedModel", "DistributedOptimizer", "step", "StepOutput", "save",
    "load", "save_checkpoint", "resume_from_checkpoint", "partition", "set_partition",
    "tensor_parallelism", "set_tensor_parallelism", "tp_register", "tp_register_with_module",
    "set_activation_checkpointing", "delay_param_initialization", "model_creation", "amp", "nn",
    "state",
]

if os.environ.get("SM_HP_MP_PARAMETERS") and os.environ.get("OMPI_COMM_WORLD_RANK") and \
        os.environ.get("SMP_MANUAL_INIT", "0") in ("", "0"):
    init()
