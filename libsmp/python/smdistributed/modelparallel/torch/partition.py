"""Partition decisions: which pipeline stage owns every module of the model tree.

Manual: the module's smp.partition / set_partition index, else default_partition.
Auto (SMP's algorithm): rank 0 traces the first microbatch with grad off (execution order,
forward time and output bytes per module); costs mix the time share and the memory share
(parameters + activations) by memory_weight; walking the tree breadth-first, a node runs on the
first stage of its range and its children, in execution order, get contiguous sub-ranges in
proportion to their cost; a module without parameters stays with its parent; modules that share
a parameter are put on one stage.
"""

import math
import time

import torch

from smdistributed.modelparallel.torch.exceptions import SMPValidationError


class TracingEnd(Exception):
    """Raised when the traced root forward returns: the rest of the step body is skipped."""


def manual_assignment(modules, default_partition):
    return [getattr(m, "_smp_partition", default_partition) if getattr(m, "_smp_partition", None)
            is not None else default_partition for _, m in modules]


def trace(modules, run_first_microbatch):
    """Runs the first microbatch with hooks; per module index: order, time (s), output bytes."""
    info = [{"order": None, "time": 0.0, "out_bytes": 0} for _ in modules]
    starts = {}
    counter = [0]
    handles = []

    def pre(idx):
        def hook(_mod, _inp):
            if info[idx]["order"] is None:
                info[idx]["order"] = counter[0]
                counter[0] += 1
            starts.setdefault(idx, []).append(time.perf_counter())
        return hook

    def post(idx):
        def hook(_mod, _inp, out):
            info[idx]["time"] += time.perf_counter() - starts[idx].pop()
            info[idx]["out_bytes"] += _tensor_bytes(out)
        return hook

    for idx, (_, m) in enumerate(modules):
        handles.append(m.register_forward_pre_hook(pre(idx)))
        handles.append(m.register_forward_hook(post(idx)))
    try:
        for repeat in range(2):  # the first run warms up; the second is measured
            for i in info:
                i.update(order=None, time=0.0, out_bytes=0)
            counter[0] = 0
            starts.clear()
            with torch.no_grad(), torch.random.fork_rng():
                run_first_microbatch()
    finally:
        for h in handles:
            h.remove()
    return info


def _tensor_bytes(value):
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(v) for v in value)
    if isinstance(value, dict):
        return sum(_tensor_bytes(v) for v in value.values())
    return 0


def auto_assignment(modules, info, stages, memory_weight):
    """modules: [(name, module)] with the root first; info: from trace()."""
    index = {id(m): i for i, (_, m) in enumerate(modules)}
    n = len(modules)
    children = [[index[id(c)] for c in m.children() if id(c) in index] for _, m in modules]
    own_param_bytes = [0] * n
    seen = set()
    for i, (_, m) in enumerate(modules):
        for p in m.parameters(recurse=False):
            if id(p) not in seen:
                seen.add(id(p))
                own_param_bytes[i] += p.numel() * p.element_size()

    subtree_params = [0] * n
    subtree_time = [0.0] * n
    subtree_act = [0] * n

    def fold(i):
        for c in children[i]:
            fold(c)
        subtree_params[i] = own_param_bytes[i] + sum(subtree_params[c] for c in children[i])
        subtree_time[i] = max(info[i]["time"], sum(subtree_time[c] for c in children[i]))
        subtree_act[i] = info[i]["out_bytes"] + sum(subtree_act[c] for c in children[i])

    fold(0)
    total_time = subtree_time[0] or 1.0
    total_mem = (subtree_params[0] + subtree_act[0]) or 1.0

    def cost(i):
        mem = (subtree_params[i] + subtree_act[i]) / total_mem
        t = subtree_time[i] / total_time
        return (1.0 - memory_weight) * t + memory_weight * mem

    stage = [0] * n
    queue = [(0, 0, stages)]
    while queue:
        i, lo, hi = queue.pop(0)
        stage[i] = lo
        kids = sorted(children[i], key=lambda c: (info[c]["order"] is None,
                                                   info[c]["order"] if info[c]["order"] is not None else 0))
        if hi - lo <= 1:
            for c in kids:
                queue.append((c, lo, lo + 1))
            continue
        costs = [cost(c) if subtree_params[c] > 0 else 0.0 for c in kids]
        total = sum(costs)
        k = hi - lo
        acc = 0.0
        for c, w in zip(kids, costs):
            if w <= 0 or total <= 0:
                queue.append((c, lo, lo + 1))  # no parameters: stays with its parent
                continue
            first = lo + min(k - 1, int(math.floor(acc / total * k + 1e-9)))
            acc += w
            last = lo + min(k - 1, max(0, int(math.ceil(acc / total * k - 1e-9)) - 1))
            queue.append((c, first, max(first, last) + 1))
    _colocate_shared(modules, stage)
    return stage


def _colocate_shared(modules, stage):
    """Modules holding the same parameter go to the stage of the first of them."""
    holder = {}
    for i, (_, m) in enumerate(modules):
        for p in m.parameters(recurse=False):
            if id(p) in holder:
                stage[i] = stage[holder[id(p)]]
            else:
                holder[id(p)] = i


def check_shared(modules, stage):
    """Manual partitioning: a parameter shared by modules on different stages is an error."""
    holder = {}
    for i, (name, m) in enumerate(modules):
        for pname, p in m.named_parameters(recurse=False):
            if id(p) in holder and stage[holder[id(p)][0]] != stage[i]:
                j, other = holder[id(p)]
                raise SMPValidationError(
                    f"parameter '{pname}' of module '{name or 'root'}' (partition {stage[i]}) is "
                    f"shared with module '{other or 'root'}' (partition {stage[j]}); modules that "
                    "share a parameter must be on one partition (smp.set_partition).")
            holder.setdefault(id(p), (i, name))


def describe(modules, stage):
    """The assignment as an indented tree, as SMP logs it."""
    lines = ["Partition assignments:"]
    for (name, _), s in zip(modules, stage):
        depth = 0 if not name else name.count(".") + 1
        lines.append(f"{'  ' * depth}{name.split('.')[-1] if name else 'main'}: {s}")
    return "\n".join(lines)
