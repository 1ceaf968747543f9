"""SMP v1 Python API behaviour under mpirun (-np 1, 2 or 4): step outputs, StepLR on the
DistributedOptimizer, smp.save / smp.load file names and round trips, save_checkpoint ->
resume_from_checkpoint equal to the uninterrupted run, collectives, topology queries, and the
errors scripts can hit. Prints "N passed, N failed" and exits non-zero on a failure.
"""

import glob
import os
import sys
import tempfile
import traceback

import torch
from torch import nn

import smdistributed.modelparallel.torch as smp

RESULTS = []


def case(fn):
    RESULTS.append(fn)
    return fn


def init(**cfg):
    base = {"partitions": PP, "microbatches": 4, "ddp": True, "auto_partition": False,
            "default_partition": 0}
    base.update(cfg)
    smp.init(base)


def done():
    smp.shutdown(_finalize_mpi=False)


def mlp(partition=True):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    if partition:
        smp.set_partition(net[2], PP - 1)
    return net


def expect_raises(exc, fn, text=None):
    try:
        fn()
    except exc as e:
        if text and text not in str(e):
            raise AssertionError(f"{exc.__name__} without '{text}': {e}")
        return e
    raise AssertionError(f"{exc.__name__} not raised")


@case
def step_outputs():
    init()
    model = smp.DistributedModel(mlp())

    @smp.step
    def fwd(model, x):
        out = model(x)
        return out, {"sum": out.sum(), "pair": (out.mean(), [out.max()])}, out.shape[0], "tag", None

    x = torch.randn(8, 6)
    out, nested, n, tag, none = fwd(model, x)
    assert isinstance(out, smp.StepOutput) and len(out.outputs) == 4, out
    assert out.concat().shape == (8, 3) and out.stack().shape == (4, 2, 3)
    assert not out.outputs[0].grad_fn, "detach_outputs: outputs are detached"
    assert isinstance(nested, dict) and isinstance(nested["sum"], smp.StepOutput)
    assert isinstance(nested["pair"], tuple) and isinstance(nested["pair"][1], list)
    assert n == [2, 2, 2, 2] and tag == ["tag"] * 4 and none == [None] * 4
    full = model.state_dict()
    if smp.pp_rank() == 0:
        ref = mlp(partition=False)
        ref.load_state_dict(full)
        assert torch.allclose(out.concat(), ref(x), atol=1e-6)
    # Every rank of the pipeline gets the same values (followers never ran the body).
    got = smp.allgather(out.concat(), smp.PP_GROUP)
    assert all(torch.equal(g, got[0]) for g in got)
    assert abs(nested["sum"].reduce_sum().item() - out.concat().sum().item()) < 1e-4
    done()


@case
def step_split_options():
    init()
    model = smp.DistributedModel(mlp())

    @smp.step(non_split_inputs=["w"], input_split_axes={"x": 1})
    def fwd(model, x, w):
        return model(x.t()) * w

    x = torch.randn(6, 8)
    out = fwd(model, x, torch.tensor(2.0))
    assert out.concat().shape == (8, 3)
    # The leader raises the split error; the other stages learn of it and raise too (no hang).
    if smp.pp_rank() == 0:
        expect_raises(smp.exceptions.TensorSplitError, lambda: fwd(model, torch.randn(6, 7), 1.0),
                      "drop_last")
    else:
        expect_raises(RuntimeError, lambda: fwd(model, torch.randn(6, 7), 1.0), "drop_last")
    out = fwd(model, x, torch.tensor(2.0))  # and the next step runs normally
    assert out.concat().shape == (8, 3)
    expect_raises(smp.exceptions.TensorSplitError,
                  lambda: smp.step(non_split_inputs=["nope"])(lambda model, x: x), "nope")
    done()


@case
def steplr_and_optimizer_patch():
    init()
    model = smp.DistributedModel(mlp())
    opt = smp.DistributedOptimizer(torch.optim.SGD(model.parameters(), lr=1.0))
    assert isinstance(opt, torch.optim.Optimizer)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    @smp.step
    def train(model, x):
        loss = model(x).sum()
        model.backward(loss)
        return loss

    for _ in range(3):
        opt.zero_grad()
        train(model, torch.randn(8, 6))
        opt.step()
        sched.step()
    assert abs(opt.param_groups[0]["lr"] - 0.125) < 1e-12, opt.param_groups[0]["lr"]
    assert sched.last_epoch == 3
    local = list(model.local_parameters())
    assert all(p.requires_grad for p in local)
    others = [p for p in model.parameters() if not model.is_local_parameter(p)]
    assert all(not p.requires_grad and p.grad is None for p in others)
    done()


@case
def save_load_names():
    init()
    d = shared_tmpdir()
    model = smp.DistributedModel(mlp())

    @smp.step
    def train(model, x):
        loss = model(x).sum()
        model.backward(loss)
        return loss

    train(model, torch.randn(8, 6))
    f = os.path.join(d, "ckpt.pt")
    if smp.dp_rank() == 0:
        smp.save(model.local_state_dict(), f, partial=True)
    smp.save({"full": 1}, os.path.join(d, "full.pt"), partial=False)
    smp.barrier()
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(d, "ckpt.pt_*")))
    assert names == [f"ckpt.pt_{p}_0.pt" for p in range(PP)], names
    assert os.path.exists(os.path.join(d, "full.pt"))
    loaded = smp.load(f, partial=True)
    assert loaded["_smp_is_partial"] is True
    for k, v in model.local_state_dict().items():
        if isinstance(v, torch.Tensor):
            assert torch.equal(v, loaded[k]), k
    assert smp.load(os.path.join(d, "full.pt"), partial=False) == {"full": 1}
    smp.barrier()
    done()


def train_run(steps, resume_dir=None, save_dir=None, save_at=None):
    init()
    model = smp.DistributedModel(mlp())
    opt = smp.DistributedOptimizer(torch.optim.Adam(model.parameters(), lr=0.01))
    start = 0
    if resume_dir:
        start = smp.resume_from_checkpoint(resume_dir)["step"]

    @smp.step
    def train(model, x, y):
        loss = nn.functional.mse_loss(model(x), y)
        model.backward(loss)
        return loss

    g = torch.Generator().manual_seed(7)
    data = [(torch.randn(8, 6, generator=g), torch.randn(8, 3, generator=g)) for _ in range(steps)]
    losses = []
    for s in range(start, steps):
        opt.zero_grad()
        losses.append(train(model, *data[s]).reduce_mean().item())
        opt.step()
        if save_dir and s + 1 == save_at:
            smp.save_checkpoint(save_dir, f"step_{s + 1}", partial=True, model=model,
                                optimizer=opt, user_content={"step": s + 1})
    full = model.state_dict()
    done()
    return losses, full


@case
def checkpoint_resume():
    init()
    d = shared_tmpdir()
    done()
    losses, full = train_run(6, save_dir=d, save_at=3)
    assert open(os.path.join(d, "newest")).read().split() == ["step_3_partial"]
    files = sorted(os.listdir(os.path.join(d, "step_3_partial")))
    expected = sorted([f"model_{p}_0.pt" for p in range(PP)] +
                      [f"optimizer_states_{p}_0.pt" for p in range(PP)] +
                      ["smp_config.pt", "user_content.pt"])
    assert files == expected, files
    resumed, full2 = train_run(6, resume_dir=d)
    assert resumed == losses[3:], (resumed, losses)
    for k in full:
        assert torch.equal(full[k], full2[k]), k


@case
def collectives():
    init()
    world = smp.allgather(smp.rank(), smp.WORLD)
    assert world == list(range(smp.size()))
    assert smp.allgather({"r": smp.rank()}, smp.PP_GROUP) == [{"r": r} for r in smp.get_pp_group()]
    assert smp.gather(smp.rank(), smp.DP_GROUP) == (smp.get_dp_group() if smp.dp_rank() == 0 else [])
    if smp.pp_size() > 1:
        if smp.pp_rank() == 0:
            assert smp.broadcast(torch.arange(3), smp.PP_GROUP) is None
        else:
            assert torch.equal(smp.recv_from(0, smp.RankType.PP_RANK), torch.arange(3))
    if smp.size() > 1:
        if smp.rank() == 0:
            smp.send("hello", 1, smp.RankType.WORLD_RANK)
        elif smp.rank() == 1:
            assert smp.recv_from(0, smp.RankType.WORLD_RANK) == "hello"
    smp.barrier()
    smp.pp_barrier()
    smp.dp_barrier()
    assert smp.get_comm_group(smp.RankType.DP_RANK) is smp.DP_GROUP
    expect_raises(smp.exceptions.InvalidCommGroupError, lambda: smp.barrier("WORLD"))
    done()


@case
def topology():
    init(placement_strategy="spread")
    assert smp.pp_size() == PP and smp.dp_size() * PP == smp.size()
    assert smp.rdp_size() == smp.dp_size() and smp.tp_size() == 1 and smp.mp_size() == PP
    assert smp.get_pp_group()[smp.pp_rank()] == smp.rank()
    assert smp.get_dp_group()[smp.dp_rank()] == smp.rank()
    assert smp.num_microbatches() == 4 and smp.state.cfg.microbatches == 4
    assert smp.state.cfg.partitions == PP
    if smp.size() == 4 and PP == 2:  # SMP's documented spread example, scaled to 4 ranks
        assert smp.get_mp_group() in ([0, 2], [1, 3])
    import torch.distributed as dist
    g = smp.get_dp_process_group()
    t = torch.ones(1)
    dist.all_reduce(t, group=g)
    assert t.item() == smp.dp_size()
    done()


@case
def errors():
    init()
    model = smp.DistributedModel(mlp())
    if PP > 1:
        expect_raises(smp.exceptions.FwdExecutionNotInStepFnError, lambda: model(torch.randn(4, 6)))
    expect_raises(smp.exceptions.BwdExecutionNotInStepFnError, lambda: model.backward(torch.ones(1)))
    expect_raises(smp.exceptions.MultipleDistributedModelError, lambda: smp.DistributedModel(mlp()))
    expect_raises(smp.exceptions.ModelNotPartitionedError, lambda: list(model.local_parameters()))
    expect_raises(smp.exceptions.SMPUnsupportedError, lambda: smp.nn.DistributedLinear(4, 4),
                  "tensor parallelism")
    expect_raises(smp.exceptions.SMPUnsupportedError,
                  lambda: smp.set_activation_checkpointing(model), "activation checkpointing")
    expect_raises(smp.exceptions.SMPUnsupportedError,
                  lambda: smp.DistributedOptimizer(torch.optim.SGD(model.parameters(), lr=1),
                                                   dynamic_loss_scale=True), "fp16")

    class Opaque:  # a lock cannot be pickled: it cannot cross ranks
        def __init__(self):
            import threading
            self.lock = threading.Lock()

    class Takes(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(6, 3)

        def forward(self, x, extra=None):
            return self.lin(x)

    if PP > 1:
        done()
        init()
        net = nn.Sequential(nn.Linear(6, 6), Takes())
        smp.set_partition(net[1], 1)

        class Root(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = net

            def forward(self, x):
                return self.net[1](self.net[0](x), extra=Opaque())

        model = smp.DistributedModel(Root())

        @smp.step
        def bad(model, x):
            return model(x)

        if smp.pp_rank() == 0:
            e = expect_raises(smp.exceptions.PipelineCrossingError, lambda: bad(model, torch.randn(4, 6)))
            assert "net.1" in str(e) and "extra" in str(e), str(e)
        else:
            # The leader's failure reaches the other stage as an error naming stage 0.
            expect_raises(RuntimeError, lambda: bad(model, torch.randn(4, 6)), "pipeline stage 0")
    done()


# The public names of SMP v1 (the reference's §1), all reachable as smp.<name>.
PUBLIC_NAMES = """
init is_initialized is_tracing reset shutdown num_microbatches rank size local_rank local_size
pp_rank pp_size tp_rank tp_size dp_rank dp_size rdp_rank rdp_size mp_rank mp_size
get_pp_group get_tp_group get_dp_group get_rdp_group get_mp_group get_world_process_group
get_dp_process_group get_mp_process_group get_pp_process_group get_tp_process_group
get_rdp_process_group CommGroup RankType WORLD PP_GROUP TP_GROUP RDP_GROUP DP_GROUP MP_GROUP
broadcast send recv_from allgather gather barrier dp_barrier mp_barrier pp_barrier tp_barrier
rdp_barrier get_rank_type get_comm_group param_shard_rank param_shard_size
step StepOutput DistributedModel DistributedOptimizer model state amp nn optimizers patches smplib
save load save_checkpoint resume_from_checkpoint partition set_partition set_activation_checkpointing
checkpoint delay_param_initialization model_creation tensor_parallelism set_tensor_parallelism
tp_register tp_register_with_module
""".split()


@case
def public_names():
    missing = [n for n in PUBLIC_NAMES if not hasattr(smp, n)]
    assert not missing, missing
    assert smp.amp.GradScaler and smp.optimizers.FusedLAMB and smp.patches.checkpoint.checkpoint
    assert callable(smp.nn.huggingface.gpt2.translate_state_dict_to_hf_gpt2)
    for cls in ("DistributedLinear", "DistributedTransformer", "DistributedTransformerLMHead"):
        assert hasattr(smp.nn, cls), cls
    import smdistributed.modelparallel as mp
    assert mp.__version__.startswith("1.")
    for attr in ("microbatches", "fp16", "prescaled_batch", "shard_optimizer_state",
                 "sharded_data_parallel_degree", "partitions", "ddp"):
        assert hasattr(smp.state.cfg, attr), attr


def shared_tmpdir():
    d = tempfile.mkdtemp(prefix="smp-api-") if smp.rank() == 0 else None
    return smp.allgather(d, smp.WORLD)[0]


def main():
    global PP
    PP = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    passed = failed = 0
    for fn in RESULTS:
        try:
            fn()
            passed += 1
            if int(os.environ.get("OMPI_COMM_WORLD_RANK", "0")) == 0:
                print(f"ok   {fn.__name__}", flush=True)
        except Exception:  # noqa: BLE001
            failed += 1
            print(f"FAIL {fn.__name__} on rank {os.environ.get('OMPI_COMM_WORLD_RANK', '0')}:\n"
                  f"{traceback.format_exc()}", flush=True)
            if smp.is_initialized():
                smp.shutdown(_finalize_mpi=False)
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
