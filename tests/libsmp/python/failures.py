"""A Python SMP job that breaks must end on every rank with a clear message, never hang.

Each scenario runs a 2-stage job under mpirun (this file with --child) and checks its exit status,
its output and that it ended well within the receive timeout:
  body-raises    the step body raises on the leader: its traceback; the other stage names stage 0
  module-raises  a module on stage 1 raises: the leader shows stage 1's traceback
  peer-stalls    stage 1 sleeps in a module past SMP_RECV_TIMEOUT_S: the leader prints what it
                 waits for and its Python stacks, stage 1 (busy in Python, never polling) prints
                 its stacks too, on the leader's signal, and the job fails

    python3 failures.py MPIRUN
"""

import os
import re
import subprocess
import sys
import time

import torch
from torch import nn


class Stage1(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.lin = nn.Linear(4, 2)
        self.mode = mode

    def forward(self, x):
        if self.mode == "module-raises":
            raise KeyError("broken_on_stage_one")
        if self.mode == "peer-stalls":
            time.sleep(60)
        return self.lin(x)


def child(mode):
    import smdistributed.modelparallel.torch as smp
    smp.init({"partitions": 2, "microbatches": 2, "auto_partition": False, "default_partition": 0})
    net = nn.Sequential(nn.Linear(4, 4), Stage1(mode))
    smp.set_partition(net[1], 1)
    model = smp.DistributedModel(net)

    @smp.step
    def train(model, x):
        out = model(x)
        if mode == "body-raises":
            return out.sum() / 0 + undefined_name  # noqa: F821 - the failure under test
        model.backward(out.sum())
        return out.sum()

    train(model, torch.randn(4, 4))


def run(mpirun, mode):
    env = dict(os.environ, SMP_RECV_TIMEOUT_S="5", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    start = time.time()
    proc = subprocess.run([mpirun, "--oversubscribe", "--bind-to", "none", "--tag-output", "-np", "2",
                           sys.executable, os.path.abspath(__file__), "--child", mode],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                          timeout=120)
    return proc.returncode, proc.stdout, time.time() - start


class OfRank:
    """A pattern one line of one rank's stderr must match. mpirun --tag-output tags every chunk
    it reads, and faulthandler writes a stack line in several pieces, so the rank's lines are put
    back together first."""

    def __init__(self, rank, pattern):
        self.tag = f"[1,{rank}]<stderr>:"
        self.pattern = re.compile(pattern, re.M)

    def search(self, out):
        own = "\n".join(line[len(self.tag):].replace(self.tag, "")
                        for line in out.splitlines() if line.startswith(self.tag))
        return self.pattern.search(own)


def check(mpirun, mode, needles, max_seconds):
    code, out, seconds = run(mpirun, mode)
    problems = []
    if code == 0:
        problems.append("the job exited 0")
    if seconds > max_seconds:
        problems.append(f"it took {seconds:.1f} s (limit {max_seconds} s)")
    for needle in needles:  # a text, or an OfRank pattern
        found = needle.search(out) if isinstance(needle, OfRank) else needle in out
        if not found:
            what = needle.pattern.pattern if isinstance(needle, OfRank) else needle
            problems.append(f"the output lacks {what!r}")
    if problems:
        print(f"FAIL {mode}: " + "; ".join(problems) + "\n" + out[-5000:], flush=True)
        return False
    print(f"ok   {mode} ({seconds:.1f} s)", flush=True)
    return True


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return
    mpirun = sys.argv[1]
    results = [
        check(mpirun, "body-raises", [
            "[1,0]<stderr>:NameError: name 'undefined_name' is not defined",
            "in train",                                    # the leader's traceback
            "[1,1]<stderr>:", "pipeline stage 0 failed",   # the other stage learns why
        ], 60),
        check(mpirun, "module-raises", [
            "KeyError: 'broken_on_stage_one'",
            "pipeline stage 1",                            # named on the leader
            "in forward",                                  # stage 1's Python traceback
        ], 60),
        check(mpirun, "peer-stalls", [
            "TIMEOUT", "timed out after 5",
            "Python stacks", "in forward",                 # where the leader's tasks stand
            "asked every rank to print",
            # stage 1's own stack, printed by its faulthandler: the sleep in Stage1.forward
            OfRank(1, r'^\s+File ".*failures\.py", line \d+ in forward$'),
        ], 90),
    ]
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed", flush=True)
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
