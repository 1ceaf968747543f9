"""Ctrl-C (SIGINT) and a stop (SIGTERM) of `smp-local run` reach every rank of a Python SMP job:
the Python SMP sample (8 ranks, 2 stages x 4 replicas) is stopped mid-training; smp-local must end
Stopped (exit 4) within 30 s, and no process of the job may be left.

    python3 test_python_stop.py SMP_LOCAL_BINARY
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def job_processes(job_dir):
    """Processes whose environment names this job's directory (what smp-local's watchdog uses)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if f"SMP_LOCAL_JOB_DIR={job_dir}".encode() in env:
            found.append(int(pid))
    return found


def stop_once(smp_local, sig, work):
    name = f"stop-{sig.name.lower()}"
    jobs = os.path.join(work, "jobs")
    proc = subprocess.Popen(
        [smp_local, "run", os.path.join(ROOT, "samples", "smp_fashion_mnist", "job.json"), "--cpu",
         "--jobs-dir", jobs, "--job-name", name, "-H", "epochs=50",
         "-C", f"training={os.path.join(ROOT, 'fixtures', 'fashion-mnist-small')}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    for line in proc.stdout:  # wait until training runs
        if "Train Epoch:" in line or time.time() > deadline:
            break
    start = time.time()
    proc.send_signal(sig)
    try:
        proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return f"{sig.name}: smp-local did not end within 60 s"
    took = time.time() - start
    time.sleep(1)
    left = job_processes(os.path.abspath(os.path.join(jobs, name)))
    problems = []
    if proc.returncode != 4:
        problems.append(f"exit {proc.returncode} (expected 4, Stopped)")
    if took > 30:
        problems.append(f"took {took:.1f} s")
    if left:
        problems.append(f"processes left: {left}")
    print(f"{sig.name}: exit {proc.returncode} after {took:.2f} s, {len(left)} processes left",
          flush=True)
    return "; ".join(f"{sig.name}: {p}" for p in problems)


def main():
    smp_local = sys.argv[1]
    work = tempfile.mkdtemp(prefix="python-stop-")
    problems = [p for p in (stop_once(smp_local, signal.SIGINT, work),
                            stop_once(smp_local, signal.SIGTERM, work)) if p]
    for p in problems:
        print("FAIL " + p)
    print(f"{2 - len(problems)} passed, {len(problems)} failed")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
