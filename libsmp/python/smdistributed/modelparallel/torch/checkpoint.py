"""smp.save / smp.load and smp.save_checkpoint / smp.resume_from_checkpoint (SMP 1.10+ layout).

File names follow SMP 1.12.1: a partial save of `f` writes f"{f}_{pp_rank}_{tp_rank}.pt" (with
v3: f"{f}_{pp}_{tp}_{rdp}.pt") on every calling rank; a full save writes `f` on global rank 0.
"""

import glob
import os
import re
import shutil

import torch

from smdistributed.modelparallel import __version__
from smdistributed.modelparallel.torch import comm, core
from smdistributed.modelparallel.torch.core import state
from smdistributed.modelparallel.torch.exceptions import (
    IncompatibleCheckpointFoundError, SMPValidationError)


def _partial_name(f, v3=False):
    name = f"{f}_{core.pp_rank()}_{core.tp_rank()}"
    return name + (f"_{core.rdp_rank()}" if v3 else "") + ".pt"


def save(obj, f, partial=True, v3=False, **torch_save_kwargs):
    if not isinstance(f, str):
        raise SMPValidationError("smp.save: f must be a str path")
    core._require("smp.save()")
    if partial:
        torch.save(obj, _partial_name(f, v3), **torch_save_kwargs)
    elif core.rank() == 0:
        torch.save(obj, f, **torch_save_kwargs)


def load(f, partial=True, back_compat=False, **torch_load_kwargs):
    core._require("smp.load()")
    torch_load_kwargs.setdefault("map_location", "cpu")
    if not partial:
        return torch.load(f, **torch_load_kwargs)
    suffix = "" if back_compat else ".pt"
    files = [p for p in glob.glob(f"{glob.escape(f)}_*") if ".sagemaker-" not in p]
    pattern = re.compile(re.escape(f) + r"_(\d+)(?:_(\d+))?(?:_(\d+))?" + re.escape(suffix) + "$")
    parts = [m.groups() for m in (pattern.match(p) for p in files) if m]
    if not parts:
        raise IncompatibleCheckpointFoundError(f"smp.load: no partial checkpoint files {f}_*{suffix}")
    pps = {int(g[0]) for g in parts}
    if max(pps) + 1 != core.pp_size() or len(pps) != core.pp_size():
        raise IncompatibleCheckpointFoundError(
            f"smp.load: {f} was saved with {len(pps)} pipeline partitions; this job has "
            f"{core.pp_size()}. Load a full checkpoint (partial=False) to change the degree.")
    three = [g for g in parts if g[2] is not None]
    two = [g for g in parts if g[1] is not None and g[2] is None]
    if three:
        name = f"{f}_{core.pp_rank()}_{core.tp_rank()}_{core.rdp_rank()}{suffix}"
    elif two:
        name = f"{f}_{core.pp_rank()}_{core.tp_rank()}{suffix}"
    else:
        name = f"{f}_{core.pp_rank()}{suffix}"
    return torch.load(name, **torch_load_kwargs)


def save_checkpoint(path, tag, partial=True, model=None, optimizer=None, user_content=None,
                    translate_if_full=True, num_kept_partial_checkpoints=None):
    core._require("smp.save_checkpoint()")
    if not isinstance(tag, str):
        raise SMPValidationError("smp.save_checkpoint: tag must be a str")
    tags = comm.allgather(tag, comm.CommGroup.WORLD)
    if len(set(tags)) != 1:
        raise SMPValidationError(f"smp.save_checkpoint: every rank must pass the same tag; got {sorted(set(tags))}")
    model = model if model is not None else state.model
    optimizer = optimizer if optimizer is not None else state.optimizer
    if core.rank() == 0:
        os.makedirs(path, exist_ok=True)
    comm.barrier()
    if partial:
        folder = os.path.join(path, f"{tag}_partial")
        if core.rank() == 0:
            os.makedirs(folder, exist_ok=True)
        comm.barrier()
        pp, tp = core.pp_rank(), core.tp_rank()
        model_sd = model.local_state_dict() if model is not None else None
        opt_sd = optimizer.local_state_dict() if optimizer is not None else None
        if core.rdp_rank() == 0:
            if model_sd is not None:
                torch.save(model_sd, os.path.join(folder, f"model_{pp}_{tp}.pt"))
            if opt_sd is not None:
                torch.save(opt_sd, os.path.join(folder, f"optimizer_states_{pp}_{tp}.pt"))
        if core.rank() == 0:
            torch.save(user_content, os.path.join(folder, "user_content.pt"))
            torch.save({"config": state.cfg.as_dict(), "smp_version": __version__},
                       os.path.join(folder, "smp_config.pt"))
        comm.barrier()
        if core.rank() == 0:
            with open(os.path.join(path, "newest"), "a") as fh:
                fh.write(f"{tag}_partial\n")
            if num_kept_partial_checkpoints:
                _prune(path, num_kept_partial_checkpoints)
        comm.barrier()
    else:
        sd = model.state_dict() if model is not None else None
        if optimizer is not None and core.rank() == 0:
            core._log("smp.save_checkpoint: a full checkpoint does not include the optimizer state")
        if core.rank() == 0:
            torch.save(sd, os.path.join(path, tag))
            torch.save(user_content, os.path.join(path, f"user_content_{tag}"))
        comm.barrier()


def _prune(path, keep):
    with open(os.path.join(path, "newest")) as fh:
        tags = [t.strip() for t in fh if t.strip()]
    for old in tags[:-keep]:
        shutil.rmtree(os.path.join(path, old), ignore_errors=True)
    with open(os.path.join(path, "newest"), "w") as fh:
        fh.writelines(t + "\n" for t in tags[-keep:])


def resume_from_checkpoint(path, tag=None, partial=True, strict=True, load_optimizer=True,
                           load_sharded_optimizer_state=True, translate_function=None):
    core._require("smp.resume_from_checkpoint()")
    if tag is None:
        if not partial:
            raise SMPValidationError("smp.resume_from_checkpoint: tag=None is allowed only for "
                                     "partial checkpoints")
        with open(os.path.join(path, "newest")) as fh:
            tag = [t.strip() for t in fh if t.strip()][-1]
        folder = os.path.join(path, tag)
    else:
        folder = os.path.join(path, f"{tag}_partial") if partial else None
    pp, tp = core.pp_rank(), core.tp_rank()
    if partial:
        cfg = torch.load(os.path.join(folder, "smp_config.pt"))
        saved_pp = cfg["config"].get("pipeline_parallel_degree", 1)
        if saved_pp != core.pp_size():
            raise IncompatibleCheckpointFoundError(
                f"the partial checkpoint {folder} has {saved_pp} pipeline partitions; this job has "
                f"{core.pp_size()}")
        model_sd = torch.load(os.path.join(folder, f"model_{pp}_{tp}.pt"), map_location="cpu")
        opt_file = os.path.join(folder, f"optimizer_states_{pp}_{tp}.pt")
        opt_sd = torch.load(opt_file, map_location="cpu") if load_optimizer and os.path.exists(opt_file) else None
        user = torch.load(os.path.join(folder, "user_content.pt"))
    else:
        model_sd = torch.load(os.path.join(path, tag), map_location="cpu")
        model_sd["_smp_is_partial"] = False
        opt_sd = None
        uc = os.path.join(path, f"user_content_{tag}")
        user = torch.load(uc) if os.path.exists(uc) else None
    state.pending_checkpoint = {"model": model_sd, "optimizer": opt_sd, "strict": strict}
    if state.model is not None:
        _apply_pending_model()
    if state.optimizer is not None:
        _apply_pending_optimizer()
    return user


def _apply_pending_model():
    pending = state.pending_checkpoint
    if pending and pending.get("model") is not None:
        state.model.load_state_dict(pending.pop("model"), strict=pending["strict"])


def _apply_pending_optimizer():
    pending = state.pending_checkpoint
    if pending and pending.get("optimizer") is not None:
        opt_sd = pending.pop("optimizer")
        model = state.model
        if model is not None and not model.partitioned:
            model.register_post_partition_hook(lambda m, o: o.load_state_dict(opt_sd))
        else:
            state.optimizer.load_state_dict(opt_sd)
