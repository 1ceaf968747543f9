"""@smp.step and StepOutput.

The decorated function runs once per microbatch on pp_rank 0 of each pipeline (every rank when
there is one partition), as SMP runs it; the other pipeline ranks serve module execution requests
meanwhile. Arguments are split into microbatches along the batch axis; what microbatch 0 returns
decides the shape of the result, which every rank of the pipeline receives.
"""

import functools
import inspect
import warnings

import torch

from smdistributed.modelparallel.torch import core
from smdistributed.modelparallel.torch.core import state
from smdistributed.modelparallel.torch.exceptions import (
    InvalidStepOutputError, SMPRuntimeError, TensorSplitError)
from smdistributed.modelparallel.torch.packing import pack, unpack


class StepOutput:
    """The per-microbatch values of one tensor the step function returned."""

    def __init__(self, outputs):
        if not isinstance(outputs, (list, tuple)):
            raise InvalidStepOutputError("StepOutput takes a list or tuple of per-microbatch outputs")
        self.outputs = list(outputs)

    def __getitem__(self, i):
        return self.outputs[i]

    def __len__(self):
        return len(self.outputs)

    def __iter__(self):
        return iter(self.outputs)

    def __repr__(self):
        return f"StepOutput({self.outputs!r})"

    def reduce_mean(self):
        return sum(self.outputs) / len(self.outputs)

    def reduce_sum(self):
        return sum(self.outputs)

    def concat(self):
        return torch.cat(self.outputs, dim=0)

    def stack(self):
        return torch.stack(self.outputs)

    def map(self, fn):
        self.outputs = [fn(o) for o in self.outputs]
        return self

    def clear(self):
        self.outputs = []

    def add_output(self, output):
        self.outputs.append(output)

    def process_outputs(self, fn):
        return self.map(fn)


def step(func=None, non_split_inputs=None, input_split_axes=None, detach_outputs=True):
    """@smp.step, @smp.step() or @smp.step(non_split_inputs=[...], input_split_axes={...})."""
    if func is None:
        return lambda f: StepFunction(f, non_split_inputs, input_split_axes, detach_outputs)
    return StepFunction(func, non_split_inputs, input_split_axes, detach_outputs)


_WARN_TYPES = ("Optimizer", "_LRScheduler", "LRScheduler", "Dataset", "DataLoader", "Sampler")


class StepFunction:
    def __init__(self, func, non_split_inputs, input_split_axes, detach_outputs):
        self.func = func
        functools.update_wrapper(self, func)
        self.non_split_inputs = set(non_split_inputs or [])
        self.input_split_axes = dict(input_split_axes or {})
        self.detach_outputs = detach_outputs
        self._arg_names = inspect.getfullargspec(func).args
        for name in list(self.non_split_inputs) + list(self.input_split_axes):
            if name not in self._arg_names:
                raise TensorSplitError(
                    f"@smp.step: '{name}' (in non_split_inputs or input_split_axes) is not an "
                    f"argument of {func.__name__}; its arguments are {self._arg_names}.")
        self._warned = set()

    def __get__(self, obj, objtype=None):  # a decorated method binds like a function
        return self if obj is None else functools.partial(self.__call__, obj)

    def __call__(self, *args, **kwargs):
        core._require("an @smp.step function")
        if state.in_step:
            raise SMPRuntimeError("@smp.step functions do not nest.")
        model = state.model
        m = state.cfg.microbatches
        leader = core.pp_rank() == 0
        mb_args = [None] * m
        split_error = None
        if leader:  # the other stages' arguments are ignored, as in SMP (they may be dummies)
            try:
                bound = inspect.signature(self.func).bind(*args, **kwargs)
                mb_args = [self._slice(bound, m, i) for i in range(m)]
            except Exception as e:  # noqa: BLE001 - raised inside the step, so every rank learns
                split_error = e
        if model is not None:
            model._smp_before_step(self, mb_args[0] if leader else None, split_error)
        server = model._smp_server() if model is not None else None
        grad = torch.is_grad_enabled()

        def body(i):
            if split_error is not None:
                raise split_error
            state.microbatch = i
            a, kw = mb_args[i]
            with torch.set_grad_enabled(grad):
                out = self.func(*a, **kw)
            if self.detach_outputs:
                out = _detach(out)
            return pack(out, f"the return value of step function {self.func.__name__}")

        state.in_step = True
        try:
            if server is None:
                results = [body(i) for i in range(m)]
            else:
                results = server.run_step(m, body, state.step_count)
        finally:
            state.in_step = False
            state.microbatch = None
        if model is not None:
            model._smp_after_step(grad)
        state.step_count += 1
        values = [unpack(s, t) for s, t in results]
        return _as_step_output(values)

    def _slice(self, bound, m, i):
        args, kwargs = [], {}
        for name, value in bound.arguments.items():
            param = bound.signature.parameters[name]
            if name in self.non_split_inputs:
                piece = value
            else:
                axis = self.input_split_axes.get(name, 0)
                piece = self._split(value, m, i, axis, name)
            if param.kind == param.VAR_POSITIONAL:
                args.extend(piece)
            elif param.kind == param.VAR_KEYWORD:
                kwargs.update(piece)
            elif param.kind == param.KEYWORD_ONLY:
                kwargs[name] = piece
            else:
                args.append(piece)
        return args, kwargs

    def _split(self, value, m, i, axis, name):
        if hasattr(value, "smp_slice"):
            return value.smp_slice(m, i, axis)
        if isinstance(value, StepOutput):
            return value.outputs[i]
        if isinstance(value, torch.Tensor):
            if value.dim() == 0:
                return value
            if axis >= value.dim() or value.size(axis) % m != 0:
                raise TensorSplitError(
                    f"@smp.step: argument '{name}' has size {tuple(value.shape)}; it cannot be split "
                    f"into {m} microbatches along axis {axis}. Use a batch size divisible by the "
                    "number of microbatches (e.g. DataLoader(..., drop_last=True)), or list the "
                    "argument in non_split_inputs / input_split_axes.")
            size = value.size(axis) // m
            return value.narrow(axis, i * size, size)
        if isinstance(value, dict):
            out = type(value)() if type(value) is not dict else {}
            if hasattr(value, "default_factory"):
                out = type(value)(value.default_factory)
            for k, v in value.items():
                out[k] = self._split(v, m, i, axis, name)
            return out
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return type(value)(*[self._split(v, m, i, axis, name) for v in value])
        if isinstance(value, (list, tuple, set)):
            return type(value)(self._split(v, m, i, axis, name) for v in value)
        if not isinstance(value, (int, float, str, bool, type(None), torch.device, torch.nn.Module)):
            kind = type(value).__name__
            if kind not in self._warned:
                self._warned.add(kind)
                bug = any(t in [c.__name__ for c in type(value).__mro__] for t in _WARN_TYPES)
                warnings.warn(f"@smp.step: argument '{name}' of type {kind} is passed whole to every "
                              "microbatch" + (" (potentially a bug)" if bug else ""))
        return value


def _detach(value):
    if isinstance(value, torch.Tensor):
        return value.detach().requires_grad_(value.requires_grad)
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*[_detach(v) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_detach(v) for v in value)
    if isinstance(value, dict):
        return {k: _detach(v) for k, v in value.items()}
    return value


def _as_step_output(per_mb):
    """SMP's result shape: microbatch 0's structure decides it."""
    if not per_mb:
        return None
    first = per_mb[0]
    if isinstance(first, tuple) and not hasattr(first, "_fields"):
        return tuple(_as_step_output([v[i] for v in per_mb]) for i in range(len(first)))
    if isinstance(first, list):
        return [_as_step_output([v[i] for v in per_mb]) for i in range(len(first))]
    if isinstance(first, dict):
        return {k: _as_step_output([v[k] for v in per_mb]) for k in first}
    if isinstance(first, torch.Tensor):
        return StepOutput(per_mb)
    return list(per_mb)
