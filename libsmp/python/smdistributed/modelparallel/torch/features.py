"""SMP v1 names for features libsmp does not implement (tensor parallelism, activation
checkpointing, delayed parameter initialization, fused optimizers). They exist, so scripts import
and reference them freely; using one raises an error naming the feature."""

import contextlib

from smdistributed.modelparallel.torch.exceptions import unsupported


@contextlib.contextmanager
def tensor_parallelism(enabled=True, **tp_config):
    if enabled:
        raise unsupported("tensor parallelism (smp.tensor_parallelism)")
    yield


def set_tensor_parallelism(module, enabled=True, **tp_config):
    if enabled:
        raise unsupported("tensor parallelism (smp.set_tensor_parallelism)")


def tp_register(dist_module, init_hook=None, forward_hook=None, return_hook=None):
    raise unsupported("tensor parallelism (smp.tp_register)")


def tp_register_with_module(module_cls, dist_module, init_hook=None, forward_hook=None,
                            return_hook=None):
    raise unsupported("tensor parallelism (smp.tp_register_with_module)")


def set_activation_checkpointing(module, preserve_rng_state=True, pack_args_as_tuple=False,
                                 strategy="each"):
    raise unsupported("activation checkpointing (smp.set_activation_checkpointing)")


def checkpoint(module, *args, preserve_rng_state=True, **kwargs):
    raise unsupported("activation checkpointing (smp.checkpoint)")


def checkpoint_sequential(sequential_module, input, strategy="each", preserve_rng_state=True,
                          pack_args_as_tuple=False):
    raise unsupported("activation checkpointing (checkpoint_sequential)")


@contextlib.contextmanager
def delay_param_initialization(enabled=True):
    if enabled:
        raise unsupported("delayed parameter initialization (smp.delay_param_initialization)")
    yield


@contextlib.contextmanager
def model_creation(tensor_parallelism=False, dtype=None, **tensor_parallel_config):
    import torch
    from smdistributed.modelparallel.torch.core import state
    if tensor_parallelism:
        raise unsupported("tensor parallelism (smp.model_creation(tensor_parallelism=True))")
    if dtype not in (None, torch.float32):
        raise unsupported(f"models created in {dtype} (fp16/bf16 training)")
    if state.cfg.delayed_parameter_initialization:
        raise unsupported("delayed parameter initialization")
    yield


class _FusedOptimizer:
    def __init__(self, *args, **kwargs):
        raise unsupported(f"apex fused optimizers (smp.optimizers.{type(self).__name__})")


class FusedAdam(_FusedOptimizer):
    pass


class FusedLAMB(_FusedOptimizer):
    pass


class FusedNovoGrad(_FusedOptimizer):
    pass
