"""Manual partition assignment: smp.partition(i) around module construction, and
smp.set_partition(module, i) between DistributedModel(...) and the first step.

Module.__init__ is patched once at smp.init (as SMP does) so that every module records the
innermost smp.partition context it was constructed in.
"""

import contextlib
import warnings

import torch

from smdistributed.modelparallel.torch.core import state
from smdistributed.modelparallel.torch.exceptions import (
    InvalidPartitionIDError, StepFunctionCalledError)

_stack = []
_installed = False


def install():
    global _installed
    if _installed:
        return
    _installed = True
    orig_init = torch.nn.Module.__init__

    def __init__(self, *args, **kwargs):
        orig_init(self, *args, **kwargs)
        if _stack:
            object.__setattr__(self, "_smp_partition", _stack[-1])

    torch.nn.Module.__init__ = __init__


def _check_index(index):
    pp = state.cfg.pipeline_parallel_degree
    if not isinstance(index, int) or not 0 <= index < pp:
        raise InvalidPartitionIDError(f"partition {index!r} is out of range: the pipeline has {pp} "
                                      f"partitions (0..{pp - 1}).")


@contextlib.contextmanager
def partition(index):
    """Modules constructed inside get partition `index` (ignored under auto_partition)."""
    if not state.initialized or state.cfg.auto_partition:
        yield
        return
    _check_index(index)
    _stack.append(index)
    try:
        yield
    finally:
        _stack.pop()


def set_partition(module, partition, recurse=True):
    """Assigns `module` (and, with recurse, its unassigned descendants) to `partition`."""
    if state.initialized and state.cfg.auto_partition:
        warnings.warn("smp.set_partition is ignored: auto_partition is on.")
        return
    model = state.model
    if model is not None and model.partitioned:
        raise StepFunctionCalledError("smp.set_partition must be called before the first step "
                                      "(the model is partitioned already).")
    _check_index(partition)
    object.__setattr__(module, "_smp_partition", partition)
    object.__setattr__(module, "_smp_partition_explicit", True)
    if recurse:
        for child in module.modules():
            if child is not module and not getattr(child, "_smp_partition_explicit", False):
                object.__setattr__(child, "_smp_partition", partition)
