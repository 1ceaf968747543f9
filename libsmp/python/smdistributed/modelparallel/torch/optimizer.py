"""smp.DistributedOptimizer: in fp32 (all libsmp supports) SMP returns the same torch optimizer,
patched in place, so isinstance checks and LR schedulers (StepLR, ...) keep working.

optimizer.step() and zero_grad() run outside the step function on every rank: parameters of other
partitions have no gradient and are skipped. state_dict() merges the partitions' states over the
pipeline group (a collective); local_state_dict() is this partition's, marked partial.
"""

import types

from smdistributed.modelparallel.torch import comm, core
from smdistributed.modelparallel.torch.core import state
from smdistributed.modelparallel.torch.exceptions import SMPRuntimeError, unsupported


def DistributedOptimizer(optimizer, static_loss_scale=1.0, dynamic_loss_scale=False,
                         dynamic_loss_args=None):
    core._require("smp.DistributedOptimizer")
    if state.model is None:
        raise SMPRuntimeError("smp.DistributedOptimizer must be created after smp.DistributedModel.")
    if state.cfg.fp16 or state.cfg.bf16 or dynamic_loss_scale or static_loss_scale != 1.0:
        raise unsupported("fp16/bf16 training and loss scaling (DistributedOptimizer's "
                          "static_loss_scale / dynamic_loss_scale)")
    model = state.model
    known = {id(p) for p in model.parameters()}
    for group in optimizer.param_groups:
        for p in group["params"]:
            if id(p) not in known:
                raise SMPRuntimeError("smp.DistributedOptimizer: the optimizer holds a parameter "
                                      "that is not among model.parameters().")
    if getattr(optimizer, "_smp_patched", False):
        return optimizer
    optimizer._smp_patched = True
    optimizer.orig_state_dict = optimizer.state_dict
    optimizer.orig_load_state_dict = optimizer.load_state_dict
    optimizer.orig_zero_grad = optimizer.zero_grad

    def local_state_dict(self, cast_to_cpu=True, gather_if_shard=True):
        sd = self.orig_state_dict()
        sd["_smp_is_partial"] = True
        return sd

    def state_dict(self):
        mine = self.orig_state_dict()
        parts = comm.allgather(mine["state"], comm.CommGroup.PP_GROUP)
        merged = {}
        for p in parts:
            merged.update(p)
        return {"state": merged, "param_groups": mine["param_groups"], "_smp_is_partial": False}

    def load_state_dict(self, sd):
        sd = dict(sd)
        sd.pop("_smp_is_partial", None)
        if model.partitioned:
            index = [p for g in self.param_groups for p in g["params"]]
            sd["state"] = {k: v for k, v in sd["state"].items()
                           if k < len(index) and model._smp.is_local_param(index[k])}
        self.orig_load_state_dict(sd)

    def clip_master_grads(self, max_norm, norm_type=2):
        return None  # a no-op without fp16, as in SMP

    optimizer.local_state_dict = types.MethodType(local_state_dict, optimizer)
    optimizer.state_dict = types.MethodType(state_dict, optimizer)
    optimizer.load_state_dict = types.MethodType(load_state_dict, optimizer)
    optimizer.clip_master_grads = types.MethodType(clip_master_grads, optimizer)
    state.optimizer = optimizer
    if state.pending_checkpoint is not None:
        from smdistributed.modelparallel.torch import checkpoint
        checkpoint._apply_pending_optimizer()
    return optimizer
