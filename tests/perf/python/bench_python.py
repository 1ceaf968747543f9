"""Benchmarks of libsmp's Python package (smdistributed.modelparallel.torch). Each prints its
result next to a baseline measured in the same run.

  overhead   1 partition on 1 rank vs a plain PyTorch loop on the same model and batch
             (4 x Linear(512), batch 64, SGD), timed alternately; median step times
  speedup    2 balanced stages on 2 ranks, 8 microbatches, vs one process running the whole
             model (8 x Linear(1024), batch 4096: 512-row microbatches keep each stage compute-bound)
  bubble     stages that sleep 5 ms forward / 10 ms backward, as bench_pipeline_bubble's do (no
             CPU, so 4 ranks on 2 cores measure
             the schedule): idle fraction of the worst stage vs (p-1)/(m+p-1), p in {2, 4},
             m in {4, 8, 16}, both schedules, Python-driven steps

    python3 bench_python.py [overhead|speedup|bubble|all] [--mpirun PATH] [--steps N]
                            [--active N]   (active_microbatches; default SMP's, pp + 2)
                            [--fast-mode]  (SMP's fast_mode: nn.Sequential requests go stage
                                            to stage instead of back through stage 0)
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import torch
from torch import nn

HERE = os.path.abspath(__file__)


def mlp(width, layers):
    mods = []
    for i in range(layers):
        mods.append(nn.Linear(width, width))
        if i + 1 < layers:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def mpirun(args, np, *child):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", SMP_MANUAL_INIT="1", BENCH_ACTIVE=str(args.active or 0),
               BENCH_FAST_MODE="1" if args.fast_mode else "0")
    out = subprocess.run([args.mpirun, "--oversubscribe", "--bind-to", "none", "-np", str(np),
                          sys.executable, HERE, "--child", *child],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         timeout=1800)
    if out.returncode != 0:
        raise SystemExit(out.stdout + out.stderr)
    return [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]


# -- overhead -------------------------------------------------------------------------------
def child_overhead(steps):
    import smdistributed.modelparallel.torch as smp
    torch.set_num_threads(1)
    smp.init({"partitions": 1, "microbatches": 1})
    torch.manual_seed(0)
    x, y = torch.randn(64, 512), torch.randn(64, 512)
    plain = mlp(512, 4)
    plain_opt = torch.optim.SGD(plain.parameters(), lr=1e-3)
    model = smp.DistributedModel(mlp(512, 4))
    opt = smp.DistributedOptimizer(torch.optim.SGD(model.parameters(), lr=1e-3))

    @smp.step
    def train(model, x, y):
        loss = nn.functional.mse_loss(model(x), y)
        model.backward(loss)
        return loss

    def plain_step():
        plain_opt.zero_grad()
        nn.functional.mse_loss(plain(x), y).backward()
        plain_opt.step()

    def smp_step():
        opt.zero_grad()
        train(model, x, y)
        opt.step()

    for _ in range(20):
        plain_step()
        smp_step()
    tp, ts = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        plain_step()
        t1 = time.perf_counter()
        smp_step()
        t2 = time.perf_counter()
        tp.append(t1 - t0)
        ts.append(t2 - t1)
    print(f"RESULT {statistics.median(tp)} {statistics.median(ts)}", flush=True)


def overhead(args):
    plain, smp_ = map(float, mpirun(args, 1, "overhead", str(args.steps))[0].split()[1:])
    print(f"overhead: plain PyTorch {plain * 1e3:.3f} ms/step, smp (1 partition, 1 rank) "
          f"{smp_ * 1e3:.3f} ms/step: {100 * (smp_ / plain - 1):+.1f} % (target <= +10 %)")


# -- speedup --------------------------------------------------------------------------------
def config(**cfg):
    """The benchmark's mp_parameters, with --active and --fast-mode when given."""
    active = int(os.environ.get("BENCH_ACTIVE", "0"))
    if active:
        cfg["active_microbatches"] = min(active, cfg["microbatches"])
    if os.environ.get("BENCH_FAST_MODE") == "1":
        cfg["fast_mode"] = True
    return cfg


def child_speedup(steps, pp):
    import smdistributed.modelparallel.torch as smp
    torch.set_num_threads(1)
    smp.init(config(partitions=pp, microbatches=8 if pp > 1 else 1, pipeline="interleaved",
                    auto_partition=False, default_partition=0))
    torch.manual_seed(0)
    net = mlp(1024, 8)
    if pp > 1:
        for i, layer in enumerate(net):
            smp.set_partition(layer, 0 if i < len(net) // 2 else 1)
    x, y = torch.randn(4096, 1024), torch.randn(4096, 1024)
    if pp == 1:  # the baseline: one process, the whole model, plain PyTorch
        opt = torch.optim.SGD(net.parameters(), lr=1e-4)

        def one():
            opt.zero_grad()
            nn.functional.mse_loss(net(x), y).backward()
            opt.step()
    else:
        model = smp.DistributedModel(net)
        opt = smp.DistributedOptimizer(torch.optim.SGD(model.parameters(), lr=1e-4))

        @smp.step
        def train(model, x, y):
            loss = nn.functional.mse_loss(model(x), y)
            model.backward(loss)
            return loss

        def one():
            opt.zero_grad()
            train(model, x, y)
            opt.step()
    for _ in range(2):
        one()
    times = []
    for _ in range(steps):
        smp.barrier()
        t0 = time.perf_counter()
        one()
        smp.barrier()
        times.append(time.perf_counter() - t0)
    if smp.rank() == 0:
        print(f"RESULT {statistics.median(times)}", flush=True)


def speedup(args):
    # The two alternate (3 rounds) so that a change in the machine's load hits both alike.
    singles, pipes = [], []
    for _ in range(3):
        singles.append(float(mpirun(args, 1, "speedup", str(args.steps), "1")[0].split()[1]))
        pipes.append(float(mpirun(args, 2, "speedup", str(args.steps), "2")[0].split()[1]))
    single, piped = statistics.median(singles), statistics.median(pipes)
    print(f"speedup: one process {single * 1e3:.1f} ms/step, 2 stages x 8 microbatches "
          f"{piped * 1e3:.1f} ms/step: {single / piped:.2f}x (per round: "
          + ", ".join(f"{s / p:.2f}x" for s, p in zip(singles, pipes))
          + "; target >= 1.6x, ideal 1.78x)")


# -- bubble ---------------------------------------------------------------------------------
BUSY = [0.0]


class Sleep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, tf, tb):
        ctx.tb = tb
        t0 = time.perf_counter()
        time.sleep(tf)
        BUSY[0] += time.perf_counter() - t0
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        t0 = time.perf_counter()
        time.sleep(ctx.tb)
        BUSY[0] += time.perf_counter() - t0
        return g, None, None


class SleepLayer(nn.Module):
    def __init__(self, tf, tb):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.tf, self.tb = tf, tb

    def forward(self, x):
        return Sleep.apply(x * self.w, self.tf, self.tb)


def child_bubble(steps, pipeline, m):
    import smdistributed.modelparallel.torch as smp
    smp.init(config(partitions=int(os.environ["OMPI_COMM_WORLD_SIZE"]), microbatches=m,
                    pipeline=pipeline, auto_partition=False, default_partition=0))
    p = smp.pp_size()
    seq = nn.Sequential(*[SleepLayer(0.005, 0.010) for _ in range(p)])
    for s in range(p):
        smp.set_partition(seq[s], s)
    model = smp.DistributedModel(seq)

    @smp.step
    def train(model, x):
        model.backward(model(x).sum())

    x = torch.ones(m, 4)
    idle = [0.0] * p
    for step in range(steps + 1):
        smp.barrier()
        busy0 = BUSY[0]
        t0 = time.time()
        train(model, x)
        t1 = time.time()
        every = smp.allgather((t0, t1, BUSY[0] - busy0), smp.WORLD)
        if step == 0:
            continue  # partitioning
        start = min(e[0] for e in every)
        end = max(e[1] for e in every)
        for r, e in enumerate(every):
            idle[r] += (1 - e[2] / (end - start)) / steps
    if smp.rank() == 0:
        print("RESULT " + " ".join(f"{v:.4f}" for v in idle), flush=True)


def bubble(args):
    for p in (2, 4):
        for pipeline in ("interleaved", "simple"):
            parts = []
            for m in (4, 8, 16):
                idle = [float(v) for v in mpirun(args, p, "bubble", str(args.steps), pipeline,
                                                 str(m))[0].split()[1:]]
                theory = (p - 1) / (m + p - 1)
                parts.append(f"m={m}: worst {100 * max(idle):.1f} % vs {100 * theory:.1f} % "
                             f"({100 * (max(idle) - theory):+.1f} points)")
            print(f"bubble p={p} {pipeline}: " + "; ".join(parts), flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, rest = sys.argv[2], sys.argv[3:]
        if kind == "overhead":
            child_overhead(int(rest[0]))
        elif kind == "speedup":
            child_speedup(int(rest[0]), int(rest[1]))
        else:
            child_bubble(int(rest[0]), rest[1], int(rest[2]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("what", nargs="?", default="all", choices=["overhead", "speedup", "bubble", "all"])
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--active", type=int, default=0)
    ap.add_argument("--fast-mode", action="store_true")
    args = ap.parse_args()
    print(f"bench_python: load average {os.getloadavg()[0]:.2f}"
          + (f", active_microbatches {args.active}" if args.active else "")
          + (", fast_mode" if args.fast_mode else ""), flush=True)
    for name, fn, default in (("overhead", overhead, 300), ("speedup", speedup, 6),
                              ("bubble", bubble, 4)):
        if args.what in (name, "all"):
            fn(argparse.Namespace(mpirun=args.mpirun, steps=args.steps or default,
                                  active=args.active, fast_mode=args.fast_mode))


if __name__ == "__main__":
    main()
