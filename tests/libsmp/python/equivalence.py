"""Python equivalence under mpirun: every case trains a model for 5 steps with
smdistributed.modelparallel.torch and with plain PyTorch in one process (the same seeds and data,
computed on each rank); the losses and every parameter must agree within 1e-5 relative.

    mpirun -np N python3 equivalence.py --pp P [--models mlp,cnn,...] [--schedules ...]
           [--partitions manual,auto] [--microbatches 4]

dp = N / P. Exits non-zero (and prints what differs) on any mismatch.
"""

import argparse
import copy
import itertools
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
import smdistributed.modelparallel.torch as smp  # noqa: E402

STEPS, BATCH = 5, 16


def reference(name):
    torch.manual_seed(0)
    model = models.BUILDERS[name]()
    start = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x, y = models.data(name, STEPS, BATCH)
    losses = []
    for s in range(STEPS):
        opt.zero_grad()
        loss = models.loss_fn(name, models.forward(name, model, x[s]), y[s])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return start, losses, model.state_dict()


def run_case(name, pp, schedule, partitioning, microbatches, placement, fast_mode=False):
    smp.init({"partitions": pp, "microbatches": microbatches, "pipeline": schedule,
              "auto_partition": partitioning == "auto", "default_partition": 0,
              "ddp": True, "placement_strategy": placement, "fast_mode": fast_mode})
    start, ref_losses, ref_params = reference(name)
    torch.manual_seed(0)
    net = models.BUILDERS[name]()
    net.load_state_dict(start)
    if partitioning == "manual":
        models.manual_partition(name, net, pp, smp.set_partition)
    model = smp.DistributedModel(net)
    opt = smp.DistributedOptimizer(torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))

    @smp.step
    def train_step(model, x, y):
        loss = models.loss_fn(name, models.forward(name, model, x), y)
        model.backward(loss)
        return loss

    x, y = models.data(name, STEPS, BATCH)
    dp, r = smp.dp_size(), smp.dp_rank()
    n = BATCH // dp
    losses = []
    for s in range(STEPS):
        opt.zero_grad()
        out = train_step(model, x[s][r * n:(r + 1) * n], y[s][r * n:(r + 1) * n])
        opt.step()
        losses.append(out.reduce_mean().item())
    full = model.state_dict()
    every = smp.allgather(losses, smp.DP_GROUP)
    problems = []
    avg = [sum(v[i] for v in every) / dp for i in range(STEPS)]
    for i, (a, b) in enumerate(zip(avg, ref_losses)):
        if abs(a - b) > 1e-5 * max(abs(b), 1e-3):
            problems.append(f"loss of step {i}: {a} vs {b}")
    if smp.pp_rank() == 0:
        for k, v in ref_params.items():
            got = full.get(k)
            if got is None:
                problems.append(f"{k} missing from model.state_dict()")
                continue
            scale = v.abs().max().item() or 1.0
            diff = (got.float() - v.float()).abs().max().item()
            if diff > 1e-5 * scale:
                problems.append(f"{k}: max |diff| {diff:.3g} (max |ref| {scale:.3g})")
    smp.shutdown(_finalize_mpi=False)
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pp", type=int, required=True)
    ap.add_argument("--models", default="mlp,cnn,nonchain,tied")
    ap.add_argument("--schedules", default="simple,interleaved")
    ap.add_argument("--partitions", default="manual,auto")
    ap.add_argument("--microbatches", default="4")
    ap.add_argument("--placement", default="spread")
    ap.add_argument("--fast-mode", action="store_true",
                    help="SMP's fast_mode: nn.Sequential runs pass requests stage to stage")
    args, _ = ap.parse_known_args()  # under SageMaker / smp-local the toolkit adds --mp_parameters
    failed = passed = 0
    for name, schedule, partitioning, mb in itertools.product(
            args.models.split(","), args.schedules.split(","), args.partitions.split(","),
            [int(m) for m in args.microbatches.split(",")]):
        case = (f"{name} pp={args.pp} schedule={schedule} partition={partitioning} "
                f"microbatches={mb} placement={args.placement}" +
                (" fast_mode" if args.fast_mode else ""))
        problems = run_case(name, args.pp, schedule, partitioning, mb, args.placement,
                            args.fast_mode)
        world = int(os.environ.get("OMPI_COMM_WORLD_SIZE", "1"))
        rank = int(os.environ.get("OMPI_COMM_WORLD_RANK", "0"))
        if problems:
            failed += 1
            print(f"[rank {rank}/{world}] FAIL {case}:\n  " + "\n  ".join(problems), flush=True)
        else:
            passed += 1
            if rank == 0:
                print(f"ok   {case} (dp={world // args.pp})", flush=True)
    if int(os.environ.get("OMPI_COMM_WORLD_RANK", "0")) == 0 or failed:
        print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
