"""smp.DistributedModel: SMP's model wrapper, an nn.Module.

Every module of the wrapped tree gets an owner pipeline stage at the first step (manual or auto
partitioning). Each module's forward is then dispatched: run here when this stage owns it,
otherwise sent to the owner as an execution request through libsmp's execution server. Parameters
of other stages keep their Parameter objects (so optimizers built before wrapping still work) but
stop requiring grad and give up their storage. Names of parameters and state-dict entries are the
wrapped module's own (no "module." prefix), as in SMP.
"""

import warnings

import torch

from smdistributed.modelparallel.torch import _smplib, comm, core, partition as part
from smdistributed.modelparallel.torch.core import state
from smdistributed.modelparallel.torch.exceptions import (
    BwdExecutionNotInStepFnError, FwdExecutionNotInStepFnError, ModelNotPartitionedError,
    MultipleDistributedModelError, SMPRuntimeError, SMPValidationError, unsupported)
from smdistributed.modelparallel.torch.packing import pack, unpack


class DistributedModel(torch.nn.Module):
    def __init__(self, module, trace_device="gpu", trace_execution_times=False,
                 trace_memory_usage=False, overlapping_allreduce=True, backward_passes_per_step=1,
                 average_grads_across_microbatches=True, bucket_cap_mb=100,
                 find_unused_parameters=False, broadcast_buffers=True,
                 gradient_as_bucket_view=True, **kwargs):
        core._require("smp.DistributedModel")
        if state.model is not None:
            raise MultipleDistributedModelError()
        if trace_device not in ("gpu", "cpu"):
            raise SMPValidationError(f"trace_device must be 'gpu' or 'cpu', got {trace_device!r}")
        if not isinstance(backward_passes_per_step, int) or backward_passes_per_step < 1:
            raise SMPValidationError("backward_passes_per_step must be a positive int")
        for key in kwargs:
            raise SMPValidationError(f"smp.DistributedModel got an unexpected argument '{key}'")
        super().__init__()
        self.module = module
        self._smp = _Engine(self, module, backward_passes_per_step,
                            average_grads_across_microbatches, bucket_cap_mb,
                            gradient_as_bucket_view)
        state.model = self
        if state.pending_checkpoint is not None:
            from smdistributed.modelparallel.torch import checkpoint
            checkpoint._apply_pending_model()

    # nn.Module's __setattr__ would register the engine as a submodule attribute otherwise.
    def __setattr__(self, name, value):
        if name == "_smp":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    # -- execution --------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if core.pp_size() > 1 and not state.in_step:
            raise FwdExecutionNotInStepFnError()
        return self.module(*args, **kwargs)

    def backward(self, tensors, grad_tensors=None):
        if not state.in_step:
            raise BwdExecutionNotInStepFnError()
        if state.tracing:
            return
        self._smp.backward(tensors, grad_tensors)

    # -- partition ------------------------------------------------------------------------
    @property
    def partitioned(self):
        return self._smp.partitioned

    def get_module(self):
        return self.module

    def display_partition(self):
        print(self._smp.describe())

    def register_post_partition_hook(self, hook):
        if self.partitioned and state.optimizer is not None:
            hook(self, state.optimizer)
            return None
        return self._smp.hooks.add(hook, "partition")

    def register_post_step_hook(self, hook):
        if self.partitioned:
            hook(self, state.optimizer)
            return None
        return self._smp.hooks.add(hook, "step")

    # -- parameters: the wrapped module's names ---------------------------------------------
    def named_parameters(self, prefix="", recurse=True, **kwargs):
        return self.module.named_parameters(prefix=prefix, recurse=recurse, **kwargs)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, **kwargs):
        return self.module.named_buffers(prefix=prefix, recurse=recurse, **kwargs)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def local_named_parameters(self):
        self._smp.require_partitioned("local_named_parameters()")
        return ((n, p) for n, p in self.module.named_parameters() if self._smp.is_local_param(p))

    def local_parameters(self):
        return (p for _, p in self.local_named_parameters())

    def local_named_buffers(self):
        self._smp.require_partitioned("local_named_buffers()")
        return ((n, b) for n, b in self.module.named_buffers() if self._smp.is_local_key(n))

    def local_buffers(self):
        return (b for _, b in self.local_named_buffers())

    def local_named_modules(self):
        self._smp.require_partitioned("local_named_modules()")
        return ((n, m) for n, m in self._smp.modules if self._smp.stage_of(m) == core.pp_rank())

    def local_modules(self):
        return (m for _, m in self.local_named_modules())

    def is_local_parameter(self, param):
        if isinstance(param, str):
            param = dict(self.module.named_parameters())[param]
        return self._smp.is_local_param(param)

    def is_local_buffer(self, buf):
        name = buf if isinstance(buf, str) else next(
            n for n, b in self.module.named_buffers() if b is buf)
        return self._smp.is_local_key(name)

    # -- state dicts --------------------------------------------------------------------------
    def local_state_dict(self, cast_to_cpu=True):
        self._smp.require_partitioned("local_state_dict()")
        return self._smp.local_state_dict(cast_to_cpu)

    def state_dict(self, destination=None, prefix="", keep_vars=False, cast_to_cpu=True,
                   gather_to_rank0=True):
        if not self.partitioned:
            warnings.warn("DistributedModel.state_dict() before the first step (partitioning) "
                          "returns this process's full, unpartitioned module state.")
            return self.module.state_dict(destination=destination, prefix=prefix, keep_vars=keep_vars)
        return self._smp.full_state_dict(cast_to_cpu, gather_to_rank0)

    def load_state_dict(self, state_dict, strict=True, translate_function=None,
                        same_partition_load=True):
        if translate_function is not None:
            raise unsupported("state-dict translation functions (Hugging Face → SMP translators)")
        self._smp.load_state_dict(dict(state_dict), strict)
        return None

    # -- devices ----------------------------------------------------------------------------
    def cuda(self, device=None):
        if not self.partitioned:
            warnings.warn("DistributedModel.cuda() before partitioning is ignored; SMP places each "
                          "partition on cuda:local_rank at the first step.")
            return self
        return super().cuda(device)

    def cpu(self):
        if self.partitioned:
            raise unsupported("DistributedModel.cpu() after partitioning",
                              "use model.state_dict() (full, on pp_rank 0) to get the whole model")
        return super().cpu()

    def join(self, divide_by_initial_world_size=True, enable=True):
        raise unsupported("DistributedModel.join() (uneven inputs across data-parallel ranks)")

    def register_comm_hook(self, state_obj, hook):
        raise unsupported("DDP communication hooks (register_comm_hook)")

    def _smp_before_step(self, step_fn, first_microbatch, leader_error=None):
        self._smp.before_step(step_fn, first_microbatch, leader_error)

    def _smp_after_step(self, grad_enabled):
        self._smp.after_step(grad_enabled)

    def _smp_server(self):
        return self._smp.server

    def _smp_release(self):
        self._smp.release()


class _Hooks:
    def __init__(self):
        self.partition, self.step = [], []

    def add(self, hook, kind):
        lst = getattr(self, kind)
        lst.append(hook)

        class Handle:
            def remove(self_inner):
                if hook in lst:
                    lst.remove(hook)
        return Handle()


class _Engine:
    """What DistributedModel does, kept out of the nn.Module's attribute namespace."""

    def __init__(self, owner, module, backward_passes_per_step, average, bucket_cap_mb, as_view):
        self.owner = owner
        self.module = module
        self.modules = list(module.named_modules())
        self.index = {id(m): i for i, (_, m) in enumerate(self.modules)}
        self.backward_passes_per_step = backward_passes_per_step
        self.average = average
        self.bucket_cap_mb = bucket_cap_mb
        self.as_view = as_view
        self.partitioned = False
        self.pp_rank = core.pp_rank()
        self.stage = None
        self.server = None
        self.reducer = None
        self.backward_passes = 0
        self.param_owner = {}
        self.hooks = _Hooks()
        self.pending_load = None
        self.released = {}
        self.post_step_done = False
        self.device = torch.device("cuda", torch.cuda.current_device()) \
            if torch.cuda.is_available() else None
        for i, (name, m) in enumerate(self.modules):
            self._patch(i, name, m)

    # -- dispatch -------------------------------------------------------------------------------
    def _patch(self, idx, name, mod):
        orig = mod.forward  # the class's forward, bound
        object.__setattr__(mod, "_smp_orig_forward", orig)
        if type(mod).forward is torch.nn.Sequential.forward:
            self._patch_sequential(idx, name, mod)
            return
        label = f"module '{name}'" if name else "the wrapped module"
        arg_names = _arg_names(orig)

        def forward(*args, **kwargs):
            if self.stage is None or state.tracing or not state.in_step:
                return orig(*args, **kwargs)
            owner = self.stage[idx]
            if owner == self.pp_rank:
                self.server.progress()  # messages in flight move while this stage computes
                return orig(*args, **kwargs)
            return self._remote(owner, idx, (args, kwargs, None),
                                f"calling {label} (partition {owner})", arg_names)

        object.__setattr__(mod, "forward", forward)

    def _patch_sequential(self, idx, name, seq):
        """nn.Sequential as SMP runs it: consecutive children owned by one stage run there as one
        request (a chain), instead of one request per child. With fast_mode (SMP's internal key)
        the request for the rest of the Sequential goes from stage to stage and the last one
        replies, instead of every run's output coming back here."""
        label = f"module '{name}'" if name else "the wrapped module"

        def forward(x):
            if self.stage is None or state.tracing or not state.in_step:
                return seq._smp_orig_forward(x)
            children = list(seq)
            owners = self._owners(children)
            i = 0
            while i < len(children):
                j = i
                while j + 1 < len(children) and owners[j + 1] == owners[i]:
                    j += 1
                if owners[i] == self.pp_rank:
                    for child in children[i:j + 1]:
                        self.server.progress()
                        x = child(x)
                    i = j + 1
                    continue
                end = len(children) if state.cfg.fast_mode else j + 1
                x = self._remote(owners[i], idx, ((x,), {}, (i, end)),
                                 f"calling {label}[{i}:{end}] (partition {owners[i]})", ["input"])
                i = end
            return x

        object.__setattr__(seq, "forward", forward)

    def _owners(self, children):
        return [self.stage[self.index[id(c)]] for c in children]

    def _remote(self, owner, idx, request, where, arg_names):
        skeleton, tensors = pack(request, where, arg_names)
        skeleton, tensors = self.server.call(owner, idx, skeleton, tensors)
        return _to_device(unpack(skeleton, tensors), self.device)

    def run_module(self, idx, packed):
        """The execution request of another stage: run module idx here."""
        name, mod = self.modules[idx]
        args, kwargs, chain = unpack(*packed)
        if self.device is not None:
            args, kwargs = _to_device((args, kwargs), self.device)
        if chain is None:
            out = mod._smp_orig_forward(*args, **kwargs)
        else:  # children chain[0]..chain[1]-1 of an nn.Sequential, from here on
            children = list(mod)
            owners = self._owners(children)
            out = args[0]
            k, end = chain
            while k < end and owners[k] == self.pp_rank:
                self.server.progress()
                out = children[k](out)
                k += 1
            if k < end:  # fast_mode: the rest goes on to its owner, which replies to the caller
                where = f"module '{name or 'root'}'[{k}:{end}] (partition {owners[k]})"
                skeleton, tensors = pack(((out,), {}, (k, end)), f"calling {where}", ["input"])
                self.server.forward_to(owners[k], idx, skeleton, tensors)
                return b"", []
        return pack(out, f"the output of module '{name or 'root'}'")

    # -- partitioning -----------------------------------------------------------------------
    def before_step(self, step_fn, first_microbatch, leader_error=None):
        if not self.partitioned:
            self.partition(step_fn, first_microbatch, leader_error)
        if self.server is None:
            self.server = _smplib.Server(self.run_module)

    def partition(self, step_fn, first_microbatch, leader_error=None):
        pp = core.pp_size()
        self.pp_rank = core.pp_rank()
        cfg = state.cfg
        if pp == 1:
            stage = [0] * len(self.modules)
        elif not cfg.auto_partition:
            stage = part.manual_assignment(self.modules, cfg.default_partition)
            part.check_shared(self.modules, stage)
        else:
            # Rank 0 traces; every rank learns the assignment, or that tracing failed.
            stage = None
            if core.rank() == 0:
                try:
                    if leader_error is not None:
                        raise leader_error
                    info = part.trace(self.modules,
                                      lambda: self._trace_run(step_fn, first_microbatch))
                    stage = part.auto_assignment(self.modules, info, pp, cfg.memory_weight)
                except Exception as e:  # noqa: BLE001
                    comm.allgather((None, f"{type(e).__name__}: {e}"), comm.CommGroup.WORLD)
                    raise
            stage, message = comm.allgather((stage, None), comm.CommGroup.WORLD)[0]
            if message is not None:
                raise SMPRuntimeError("auto-partitioning failed on rank 0 (it traces the first "
                                      f"microbatch): {message}")
        self.apply(stage)

    def _trace_run(self, step_fn, first_microbatch):
        args, kwargs = first_microbatch
        root = self.module
        handle = root.register_forward_hook(lambda *_: _raise_tracing_end())
        state.tracing = True
        state.in_step = True
        state.microbatch = 0
        try:
            step_fn.func(*args, **kwargs)
        except part.TracingEnd:
            pass
        finally:
            handle.remove()
            state.tracing = False
            state.in_step = False
            state.microbatch = None

    def apply(self, stage):
        self.stage = stage
        self.pp_rank = core.pp_rank()
        holders = {}
        for i, (name, m) in enumerate(self.modules):
            for p in m.parameters(recurse=False):
                holders.setdefault(id(p), stage[i])
        self.param_owner = holders
        if core.rank() == 0 and core.pp_size() > 1:
            core._log(self.describe())
        if self.device is not None:
            self.module.to(self.device)
        local = []
        for p in self.module.parameters():
            if self.param_owner.get(id(p), 0) == self.pp_rank:
                local.append(p)
            else:
                self._release_param(p)
        self.partitioned = True
        # Replicas start identical: dp_rank 0's parameters and buffers.
        if core.dp_size() > 1:
            tensors = local + [b for n, b in self.module.named_buffers() if self.is_local_key(n)]
            with torch.no_grad():
                for t in tensors:
                    got = comm.allgather(t.detach().cpu() if core.dp_rank() == 0 else None,
                                         comm.CommGroup.DP_GROUP)[0]
                    t.copy_(got)
        # During the backward, each local gradient moves the stage's messages in flight too.
        for p in local:
            if p.requires_grad:
                p.register_hook(self._progress_hook)
        if state.cfg.ddp and core.dp_size() > 1:
            self.reducer = _smplib.Reducer([p for p in local if p.requires_grad],
                                           float(self.bucket_cap_mb), self.as_view)
        if self.pending_load is not None:
            sd, strict = self.pending_load
            self.pending_load = None
            self._load_now(sd, strict)
        for hook in list(self.hooks.partition):
            hook(self.owner, state.optimizer)

    def _progress_hook(self, grad):
        if self.server is not None:
            self.server.progress()
        return None

    def _release_param(self, p):
        """A parameter of another stage: no grad, and its storage is freed (a 1-element stand-in)."""
        self.released[id(p)] = (p.shape, p.dtype)
        with torch.no_grad():
            p.requires_grad_(False)
            p.grad = None
            p.data = torch.empty(1, dtype=p.dtype, device=p.device)

    def release(self):
        self.server = None
        self.reducer = None

    def stage_of(self, module):
        return self.stage[self.index[id(module)]]

    def is_local_param(self, p):
        return self.param_owner.get(id(p), 0) == self.pp_rank

    def is_local_key(self, key):
        """Whether state-dict entry `key` (module path + '.' + name) belongs to this stage."""
        mod_name = key.rsplit(".", 1)[0] if "." in key else ""
        idx = self._module_index(mod_name)
        return idx is None or self.stage[idx] == self.pp_rank

    def _module_index(self, name):
        if not hasattr(self, "_by_name"):
            self._by_name = {}
            for i, (n, m) in enumerate(self.modules):
                self._by_name[n] = i
            # Modules reachable under several names (shared instances) map by identity.
            for n, m in self.module.named_modules(remove_duplicate=False):
                self._by_name.setdefault(n, self.index.get(id(m)))
        return self._by_name.get(name)

    def require_partitioned(self, what):
        if not self.partitioned:
            raise ModelNotPartitionedError(what)

    def describe(self):
        return part.describe(self.modules, self.stage) if self.stage else "not partitioned yet"

    # -- steps ---------------------------------------------------------------------------------
    def backward(self, tensors, grad_tensors):
        if isinstance(tensors, torch.Tensor):
            tensors = [tensors]
            if grad_tensors is not None and isinstance(grad_tensors, torch.Tensor):
                grad_tensors = [grad_tensors]
        tensors = list(tensors)
        if grad_tensors is None:
            grad_tensors = [None] * len(tensors)
        grads = []
        scale = 1.0 / state.cfg.microbatches if self.average else 1.0
        for t, g in zip(tensors, grad_tensors):
            if g is None:
                if t.numel() != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                g = torch.ones_like(t)
            grads.append(g * scale if scale != 1.0 else g)
        self.server.backward(tensors, grads)

    def after_step(self, grad_enabled):
        if grad_enabled:
            self.backward_passes += 1
            if self.reducer is not None and self.backward_passes % self.backward_passes_per_step == 0:
                self.reducer.reduce(state.step_count)
        if not self.post_step_done:
            self.post_step_done = True
            for hook in list(self.hooks.step):
                hook(self.owner, state.optimizer)

    # -- state dicts ---------------------------------------------------------------------------
    def local_state_dict(self, cast_to_cpu=True):
        out = {}
        for k, v in self.module.state_dict().items():
            if self.is_local_key(k):
                out[k] = v.cpu() if cast_to_cpu and isinstance(v, torch.Tensor) else v
        out["_smp_is_partial"] = True
        out["_smp_load_info"] = {"tensor_parallel_degree": core.tp_size(),
                                 "pipeline_parallel_degree": core.pp_size(),
                                 "partition_info": list(self.stage)}
        return out

    def full_state_dict(self, cast_to_cpu=True, gather_to_rank0=True):
        mine = self.local_state_dict(True)
        mine.pop("_smp_is_partial")
        mine.pop("_smp_load_info")
        if gather_to_rank0:
            parts = comm.gather(mine, comm.CommGroup.PP_GROUP, rank=0)
            if not parts:
                return {}
        else:
            parts = comm.allgather(mine, comm.CommGroup.PP_GROUP)
        merged = {}
        for p in parts:
            merged.update(p)
        order = list(self.module.state_dict().keys())
        out = {k: merged[k] for k in order if k in merged}
        if not cast_to_cpu and self.device is not None:
            out = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in out.items()}
        return out

    def load_state_dict(self, sd, strict):
        if not self.partitioned:
            self.pending_load = (sd, strict)
            return
        self._load_now(sd, strict)

    def _load_now(self, sd, strict):
        partial = sd.pop("_smp_is_partial", False)
        info = sd.pop("_smp_load_info", None)
        if partial and info and info.get("pipeline_parallel_degree") not in (None, core.pp_size()):
            raise unsupported("loading a partial checkpoint saved with another pipeline degree",
                              "save a full checkpoint (partial=False) to change the degree")
        local_keys = [k for k in self.module.state_dict().keys() if self.is_local_key(k)]
        own = {k: v for k, v in sd.items() if k in local_keys}
        missing = [k for k in local_keys if k not in own]
        if strict and missing:
            raise RuntimeError(f"Error(s) in loading state_dict: missing keys of this partition: "
                               f"{missing}")
        if strict and not partial:
            known = set(self.module.state_dict().keys())
            unexpected = [k for k in sd if k not in known]
            if unexpected:
                raise RuntimeError(f"Error(s) in loading state_dict: unexpected keys: {unexpected}")
        with torch.no_grad():
            current = self.module.state_dict(keep_vars=True)
            for k, v in own.items():
                current[k].copy_(v)


def _raise_tracing_end():
    raise part.TracingEnd()


def _arg_names(fn):
    import inspect
    try:
        return [n for n in inspect.signature(fn).parameters]
    except (TypeError, ValueError):
        return None


def _to_device(value, device):
    if device is None:
        return value
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*[_to_device(v, device) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(v, device) for v in value)
    if isinstance(value, dict):
        return type(value)({k: _to_device(v, device) for k, v in value.items()}) \
            if type(value) is dict else {k: _to_device(v, device) for k, v in value.items()}
    return value
