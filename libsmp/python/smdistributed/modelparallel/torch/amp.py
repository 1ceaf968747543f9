"""smp.amp.GradScaler: torch's GradScaler for partitioned models. On CPU (and whenever CUDA is
absent) it is disabled, as torch's is: scale() returns the loss, step() calls optimizer.step()."""

import torch

from smdistributed.modelparallel.torch import comm


class GradScaler(torch.cuda.amp.GradScaler):
    def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        super().__init__(init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled and torch.cuda.is_available())

    def _maybe_opt_step(self, optimizer, optimizer_state, *args, **kwargs):
        # An overflow on any partition skips the step on every partition of the pipeline.
        found = sum(v.item() for v in optimizer_state["found_inf_per_device"].values())
        found_anywhere = any(comm.allgather(found > 0, comm.CommGroup.PP_GROUP))
        if not found_anywhere:
            return optimizer.step(*args, **kwargs)
        return None
