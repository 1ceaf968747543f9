"""Initialisation, configuration and topology queries (smp.init, smp.rank, smp.pp_size, ...).

The C++ runtime (libsmp) does the work: it merges the configuration with SM_HP_MP_PARAMETERS (the
environment wins, as in SMP), validates it like SageMaker's SDK and SMP, starts MPI and builds the
groups. This module adds SMP's Python-side behaviour: the caller's dict is updated with the merged
values, a second init is ignored with a message, and the torch.distributed groups exist under ddp.
"""

import json
import os
import socket
import sys

import torch

from smdistributed.modelparallel.torch import _smplib
from smdistributed.modelparallel.torch.exceptions import NotInitializedError, SMPValidationError


class _Config:
    """smp.state.cfg: every configuration key as an attribute (SMP's defaults where not given)."""

    _defaults = {
        "tensor_parallel_degree": 1, "fp16": False, "bf16": False, "fp16_params": False,
        "prescaled_batch": False, "shard_optimizer_state": False, "offload_activations": False,
        "activation_loading_horizon": 4, "delayed_parameter_initialization": False,
        "sharded_data_parallel_degree": 1, "skip_tracing": False, "horovod": False,
        "tensor_parallel_seed": 0, "ddp_port": None, "ddp_dist_backend": "auto",
        "contiguous": True, "load_partition": False, "partition_file": None, "fast_mode": False,
        "static_mode": False, "_fp32_grad_accumulation": False, "checkpoint_attentions": False,
    }

    def __init__(self, merged=None, effective=None):
        values = dict(self._defaults)
        values.update(merged or {})
        values.update(effective or {})
        values["partitions"] = values.get("pipeline_parallel_degree", 1)
        self.__dict__.update(values)

    def as_dict(self):
        return dict(self.__dict__)


class _State:
    """smp.state: the process-wide SMP state scripts read (cfg, model, optimizer, microbatch)."""

    def __init__(self):
        self.initialized = False
        self.cfg = _Config()
        self.model = None
        self.optimizer = None
        self.microbatch = None
        self.tracing = False
        self.in_step = False
        self.step_count = 0
        self.pending_checkpoint = None
        self.process_groups = {}
        self.coords = []

    def num_microbatches(self):
        return self.cfg.microbatches if self.initialized else 1

    def is_tracing(self):
        return self.tracing

    # Megatron-style helpers SMP's state object carries.
    def get_model_parallel_rank(self):
        return mp_rank()

    def get_model_parallel_world_size(self):
        return mp_size()

    def get_data_parallel_rank(self):
        return dp_rank()

    def get_data_parallel_world_size(self):
        return dp_size()

    def get_model_parallel_group(self):
        return get_mp_process_group()

    def get_data_parallel_group(self):
        return get_dp_process_group()


state = _State()


def _log(msg):
    print(f"[smp] {msg}", file=sys.stderr, flush=True)


def _stack_dump_signal():
    """SIGUSR2 prints every thread's stack (faulthandler, from C, so also while Python code runs);
    a rank that times out sends it to the ranks on its host. 0 where that is not possible."""
    try:
        import faulthandler
        import signal
        faulthandler.register(signal.SIGUSR2, all_threads=True, chain=False)
        return int(signal.SIGUSR2)
    except (AttributeError, ValueError, RuntimeError, OSError):
        return 0


def init(config=None):
    """smp.init(config=None): start SMP. SM_HP_MP_PARAMETERS (set by SageMaker and smp-local)
    overrides `config` key by key; the caller's dict is updated with the merged values."""
    if state.initialized:
        if rank() == 0:
            _log("smp.init: SMP is initialized already (at import, from SM_HP_MP_PARAMETERS). Ignoring "
                 "this call; the launcher's configuration is in effect.")
        return
    if config is not None and not isinstance(config, dict):
        raise SMPValidationError(f"smp.init(config): config must be a dict, got {type(config).__name__}")
    env = os.environ.get("SM_HP_MP_PARAMETERS")
    if config is not None and env:
        try:
            config.update(json.loads(env))
        except ValueError:
            pass  # the C++ runtime reports a malformed SM_HP_MP_PARAMETERS with its fix
    # None: SM_HP_MP_PARAMETERS alone
    _smplib.init(json.dumps(config), True, _stack_dump_signal())
    merged = json.loads(_smplib.mp_parameters())
    state.cfg = _Config(merged, json.loads(_smplib.config()))
    state.initialized = True
    state.coords = allgather_coords()
    os.environ["LOCAL_RANK"] = str(local_rank())
    os.environ["RANK"] = str(rank())
    os.environ["WORLD_SIZE"] = str(size())
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank() % max(1, torch.cuda.device_count()))
    from smdistributed.modelparallel.torch import module_manager
    module_manager.install()
    _install_excepthook()
    if state.cfg.ddp:
        _ddp_init()


def _install_excepthook():
    """An uncaught exception on any rank ends the whole job once its traceback is printed: a
    normal exit would wait in MPI_Finalize for peers that may be waiting for this rank."""
    if getattr(sys.excepthook, "_smp", False):
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        if state.initialized and _smplib.size() > 1:
            sys.stderr.write(f"[smp rank {_smplib.rank()}] ending the job after the error above\n")
            sys.stderr.flush()
            _smplib.abort(1)

    hook._smp = True
    sys.excepthook = hook


def is_initialized():
    return state.initialized


def reset():
    """smp.reset(): drop the model-specific state (model, optimizer, partition)."""
    if state.model is not None:
        state.model._smp_release()
    state.model = None
    state.optimizer = None
    state.pending_checkpoint = None


def shutdown(_finalize_mpi=True):
    """smp.shutdown(): flush traces, free the groups, finalize MPI. (Runs at exit by itself.)
    Tests pass _finalize_mpi=False to init again in the same process."""
    if state.initialized:
        reset()
        state.process_groups.clear()
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
        _smplib.shutdown(_finalize_mpi)
        state.initialized = False
        state.step_count = 0


def _require(what):
    if not state.initialized:
        raise NotInitializedError(what)


def rank():
    _require("smp.rank()")
    return _smplib.rank()


def size():
    _require("smp.size()")
    return _smplib.size()


def local_rank():
    _require("smp.local_rank()")
    return _smplib.local_rank()


def local_size():
    _require("smp.local_size()")
    return _smplib.local_size()


def pp_rank():
    _require("smp.pp_rank()")
    return _smplib.pp_rank()


def tp_rank():
    _require("smp.tp_rank()")
    return _smplib.tp_rank()


def dp_rank():
    _require("smp.dp_rank()")
    return _smplib.dp_rank()


def rdp_rank():
    _require("smp.rdp_rank()")
    return _smplib.rdp_rank()


def mp_rank():
    _require("smp.mp_rank()")
    return _smplib.mp_rank()


def pp_size():
    return _smplib.pp_size() if state.initialized else 1


def tp_size():
    return _smplib.tp_size() if state.initialized else 1


def dp_size():
    return _smplib.dp_size() if state.initialized else 1


def rdp_size():
    return _smplib.rdp_size() if state.initialized else 1


def mp_size():
    return _smplib.mp_size() if state.initialized else 1


def num_microbatches():
    return state.num_microbatches()


def is_tracing():
    return state.tracing


# Group member lists (global ranks in group-rank order). The optional arguments pick another
# group than this rank's, as SMP's do.
def _members(letter_fixed):
    """Global ranks whose coordinates match `letter_fixed` (dict of pp/tp/rdp -> value)."""
    out = []
    for r in range(size()):
        c = _coords_of(r)
        if all(c[k] == v for k, v in letter_fixed.items()):
            out.append(r)
    return out


def _coords_of(global_rank):
    # Every rank's coordinates, gathered once by init (libsmp's topology decides them).
    return state.coords[global_rank]


def allgather_coords():
    from smdistributed.modelparallel.torch import comm
    mine = {"pp": pp_rank(), "tp": tp_rank(), "rdp": rdp_rank(), "dp": dp_rank()}
    return comm.allgather(mine, comm.CommGroup.WORLD)


def get_pp_group(dp_rank=None):
    _require("smp.get_pp_group()")
    if dp_rank is None:
        return _smplib.get_group(1)
    return sorted(_members({"dp": dp_rank}), key=lambda r: _coords_of(r)["pp"])


def get_tp_group(pp_rank=None, rdp_rank=None):
    _require("smp.get_tp_group()")
    if pp_rank is None and rdp_rank is None:
        return _smplib.get_group(2)
    return _members({"pp": pp_rank if pp_rank is not None else _smplib.pp_rank(),
                     "rdp": rdp_rank if rdp_rank is not None else _smplib.rdp_rank()})


def get_rdp_group(pp_rank=None, tp_rank=None):
    _require("smp.get_rdp_group()")
    if pp_rank is None and tp_rank is None:
        return _smplib.get_group(3)
    return _members({"pp": pp_rank if pp_rank is not None else _smplib.pp_rank(),
                     "tp": tp_rank if tp_rank is not None else _smplib.tp_rank()})


def get_dp_group(pp_rank=None):
    _require("smp.get_dp_group()")
    if pp_rank is None:
        return _smplib.get_group(4)
    return _members({"pp": pp_rank})


def get_mp_group(rdp_rank=None):
    _require("smp.get_mp_group()")
    if rdp_rank is None:
        return _smplib.get_group(5)
    return _members({"rdp": rdp_rank})


def get_world_group():
    _require("smp.get_world_group()")
    return list(range(size()))


# torch.distributed process groups (ddp only): gloo on CPU, nccl where CUDA is available.
def _ddp_init():
    import torch.distributed as dist
    from smdistributed.modelparallel.torch import comm
    if not dist.is_available():
        raise SMPValidationError("ddp needs torch.distributed, which this torch build lacks")
    if not dist.is_initialized():
        # Rank 0 names the rendezvous: MASTER_ADDR or its own address; the port is ddp_port, else
        # MASTER_PORT, else a free port rank 0 picks (SMP's fixed 29760 would collide when several
        # jobs share this machine, as smp-local's do).
        info = None
        if rank() == 0:
            addr = os.environ.get("MASTER_ADDR") or _own_address()
            port = state.cfg.ddp_port or os.environ.get("MASTER_PORT") or _free_port()
            info = (addr, int(port))
        info = comm.allgather(info, comm.CommGroup.WORLD)[0]
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if state.cfg.ddp_dist_backend not in (None, "auto"):
            backend = state.cfg.ddp_dist_backend
        dist.init_process_group(backend, init_method=f"tcp://{info[0]}:{info[1]}",
                                rank=rank(), world_size=size())
    groups = {}
    # Every rank creates every group, in the same order (new_group is collective).
    for name, lists in (("dp", _all_groups(get_dp_group, "pp")), ("mp", _all_groups(get_mp_group, "rdp")),
                        ("pp", _all_groups(get_pp_group, "dp")), ("tp", _all_tp_groups()),
                        ("rdp", _all_rdp_groups())):
        for members in lists:
            g = dist.new_group(members)
            if rank() in members:
                groups[name] = g
    state.process_groups = groups


def _all_groups(fn, key):
    seen, out = set(), []
    for r in range(size()):
        members = tuple(fn(**{key + "_rank": _coords_of(r)[key]}))
        if members not in seen:
            seen.add(members)
            out.append(list(members))
    return out


def _all_tp_groups():
    seen, out = set(), []
    for r in range(size()):
        c = _coords_of(r)
        members = tuple(get_tp_group(pp_rank=c["pp"], rdp_rank=c["rdp"]))
        if members not in seen:
            seen.add(members)
            out.append(list(members))
    return out


def _all_rdp_groups():
    seen, out = set(), []
    for r in range(size()):
        c = _coords_of(r)
        members = tuple(get_rdp_group(pp_rank=c["pp"], tp_rank=c["tp"]))
        if members not in seen:
            seen.add(members)
            out.append(list(members))
    return out


def _own_address():
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _process_group(name):
    from smdistributed.modelparallel.torch.exceptions import DDPNotEnabledError
    _require("a process-group query")
    if not state.cfg.ddp:
        raise DDPNotEnabledError()
    return state.process_groups[name]


def get_world_process_group():
    from smdistributed.modelparallel.torch.exceptions import DDPNotEnabledError
    _require("smp.get_world_process_group()")
    if not state.cfg.ddp:
        raise DDPNotEnabledError()
    import torch.distributed as dist
    return dist.group.WORLD


def get_dp_process_group():
    return _process_group("dp")


def get_mp_process_group():
    return state.process_groups.get("mp")


def get_pp_process_group():
    return _process_group("pp")


def get_tp_process_group():
    return _process_group("tp")


def get_rdp_process_group():
    return _process_group("rdp")
