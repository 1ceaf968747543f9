"""Nested values across pipeline stages: any structure of lists, tuples (named too), dicts and
picklable objects, with the tensors pulled out and sent on libsmp's tensor channel (as SMP does).
The skeleton is pickled with each tensor replaced by its index.
"""

import io
import pickle

import torch

from smdistributed.modelparallel.torch.exceptions import PipelineCrossingError


class _Pickler(pickle.Pickler):
    def __init__(self, buf, tensors):
        super().__init__(buf, protocol=pickle.HIGHEST_PROTOCOL)
        self.tensors = tensors

    def persistent_id(self, obj):
        if isinstance(obj, torch.Tensor):
            self.tensors.append(obj)
            return len(self.tensors) - 1
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, buf, tensors):
        super().__init__(buf)
        self.tensors = tensors

    def persistent_load(self, pid):
        return self.tensors[pid]


def pack(value, where, names=None):
    """(skeleton bytes, tensors) for `value`. On a value that cannot cross ranks the error names
    `where` (the module) and the argument (`names`: labels of value's items, for a tuple)."""
    tensors = []
    buf = io.BytesIO()
    try:
        _Pickler(buf, tensors).dump(value)
    except Exception as e:  # noqa: BLE001 - any pickling failure becomes a named error
        raise PipelineCrossingError(
            f"{where}: {_culprit(value, names)} cannot be sent to another pipeline stage ({e}). "
            "Values passed to and returned by modules on other partitions must be tensors, "
            "numbers, strings, None, or lists/tuples/dicts/picklable objects of those.") from e
    return buf.getvalue(), tensors


def unpack(skeleton, tensors):
    return _Unpickler(io.BytesIO(skeleton), tensors).load()


def _culprit(value, names):
    """Which part of `value` failed to pickle, as text."""
    items = []
    if names is not None and isinstance(value, tuple) and len(value) in (2, 3) and \
            isinstance(value[0], tuple) and isinstance(value[1], dict):
        items = [(f"argument {n}", v) for n, v in zip(names, value[0])]
        items += [(f"keyword argument '{k}'", v) for k, v in value[1].items()]
    elif isinstance(value, (tuple, list)):
        items = [(f"output [{i}]", v) for i, v in enumerate(value)]
    elif isinstance(value, dict):
        items = [(f"output ['{k}']", v) for k, v in value.items()]
    for label, item in items:
        try:
            _Pickler(io.BytesIO(), []).dump(item)
        except Exception:  # noqa: BLE001
            return f"{label} (a {type(item).__name__})"
    return f"a value of type {type(value).__name__}"
