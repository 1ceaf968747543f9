"""Python equivalence through smp-local: tests/libsmp/python/equivalence.py as a SageMaker job's
entry point (4 processes: 2 pipeline stages x 2 data-parallel replicas, interleaved, 4
microbatches, ddp), so the ranks use the smdistributed package smp-local provides and the
configuration SageMaker's launcher sets. Each model (MLP, CNN, non-chain, tied weights) with manual
and auto partitioning must match plain PyTorch; the script exits non-zero, failing the job, on a
mismatch.

    python3 test_equivalence_smp_local.py SMP_LOCAL_BINARY
"""

import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    smp_local = sys.argv[1]
    work = tempfile.mkdtemp(prefix="equiv-smp-local-")
    spec = {
        "entry_point": "equivalence.py",
        "source_dir": os.path.join(ROOT, "tests", "libsmp", "python"),
        "instance_type": "ml.p3.8xlarge",
        "instance_count": 1,
        "framework_version": "1.13.1",
        "py_version": "py39",
        "base_job_name": "equivalence",
        "hyperparameters": {"pp": 2, "schedules": "interleaved"},
        # Each case re-initializes SMP with its own partitioning mode; SageMaker's launcher still
        # sets the pipeline parameters (SM_HP_MP_PARAMETERS wins over the script's dict).
        "environment": {"SMP_MANUAL_INIT": "1"},
        "distribution": {
            "smdistributed": {"modelparallel": {"enabled": True, "parameters": {
                "partitions": 2, "microbatches": 4, "pipeline": "interleaved",
                "placement_strategy": "spread", "ddp": True}}},
            "mpi": {"enabled": True, "processes_per_host": 4},
        },
        "max_run": 1200,
    }
    path = os.path.join(work, "job.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    proc = subprocess.run([smp_local, "run", path, "--jobs-dir", os.path.join(work, "jobs"), "--cpu",
                           "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=1500)
    record = json.loads(proc.stdout) if proc.stdout.strip() else {}
    log = os.path.join(work, "jobs", record.get("TrainingJobName", "?"), "logs", "algo-1.log")
    text = open(log).read() if os.path.exists(log) else proc.stderr
    lines = [re.sub(r"^\[1,mpirank:\d+,algo-\d+\]<std(out|err)>:", "", l) for l in text.splitlines()]
    results = [l for l in lines if l.startswith(("ok ", "FAIL", "[rank"))]
    print("\n".join(results))
    if proc.returncode != 0 or not any(l.startswith("ok ") for l in lines):
        print(text[-6000:])
        print("0 passed, 1 failed")
        sys.exit(1)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
