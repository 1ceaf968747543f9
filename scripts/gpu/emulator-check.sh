#!/bin/bash
# Runs smp-local itself on a GPU machine (carried by scripts/gpu/prepare.sh in .gpu/): GPU
# discovery, the pre-flight against this machine's GPUs, a 1-host job whose rank uses GPU 0
# (CUDA_VISIBLE_DEVICES, and what PyTorch sees when it is installed), and the 2-host x 2-rank
# whoami fixture on CPU ranks.
#   bash .gpu/emulator-check.sh OUTDIR
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
G=$root/.gpu/root
. "$root/.gpu/env.sh"
out=${1:-/tmp/gpu-out}
mkdir -p "$out"
exec > >(tee "$out/emulator.log") 2>&1
e=$root/.gpu/emulator
rm -rf "$e" && mkdir -p "$e" && tar xJf "$root/.gpu/emulator.tar.xz" -C "$e"
ln -s "$G/usr/bin/orterun" "$e/bin/mpirun"  # Debian names mpirun through alternatives
export PATH=$e/bin:$PATH
export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$e/lib  # this machine's own libraries first
smp=$e/bin/smp-local
jobs=$out/jobs
step() { echo; echo "== $*"; }

step machine; nvidia-smi -L; nproc; id -un
step "plan of the whoami fixture (2 hosts x 2 ranks): more ranks than GPUs, expect exit 2 naming --cpu/--gpus"
"$smp" plan fixtures/jobs/whoami/job.json; echo "exit $?"
step "plan --gpus 7: the error names how many GPUs were found and how (nvml or nvidia-smi)"
"$smp" plan fixtures/jobs/whoami/job.json --gpus 7; echo "exit $?"

step "1 host x 1 rank on GPU 0"
mkdir -p "$out/gpu1/src"
cat > "$out/gpu1/src/probe.py" <<'PY'
import os, socket
line = "rank %s on %s: CUDA_VISIBLE_DEVICES=%s SM_NUM_GPUS=%s" % (
    os.environ.get("OMPI_COMM_WORLD_RANK"), socket.gethostname(),
    os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("SM_NUM_GPUS"))
try:
    import torch
    line += " torch.cuda.device_count()=%d %s" % (torch.cuda.device_count(),
            torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA")
except ImportError:
    line += " (no torch)"
print(line)
open(os.path.join(os.environ["SM_MODEL_DIR"], "probe.txt"), "w").write(line + "\n")
PY
cat > "$out/gpu1/job.json" <<JSON
{"entry_point": "probe.py", "source_dir": "src", "instance_type": "ml.g5.xlarge", "instance_count": 1,
 "framework_version": "2.0.0", "py_version": "py310", "base_job_name": "gpu-probe",
 "distribution": {"mpi": {"enabled": true, "processes_per_host": 1}}, "max_run": 300}
JSON
"$smp" run "$out/gpu1/job.json" --jobs-dir "$jobs" --job-name gpu1 --python "$(command -v python3)"
echo "exit $?"
tar -xzOf "$jobs/gpu1/output/model.tar.gz" probe.txt

step "the whoami fixture on CPU ranks (--cpu): 2 hosts x 2 ranks"
"$smp" run fixtures/jobs/whoami/job.json --cpu --jobs-dir "$jobs" --job-name whoami-cpu --python "$(command -v python3)" \
  | grep -E "Completed|Failed|Stopped|rank [0-9] of"
echo "exit ${PIPESTATUS[0]}"
"$smp" describe whoami-cpu --jobs-dir "$jobs" | head -5

step verdict
python3 - "$jobs" <<'PY'
import json, os, sys
jobs, ok = sys.argv[1], True
def check(cond, what):
    global ok
    ok = ok and cond
    print(("ok   " if cond else "FAIL ") + what)
probe = os.path.join(jobs, "gpu1/hosts/algo-1/opt/ml/model/probe.txt")
line = open(probe).read().strip() if os.path.exists(probe) else "(no probe.txt)"
check("CUDA_VISIBLE_DEVICES=0 " in line and "SM_NUM_GPUS=1 " in line, "GPU job, rank 0: " + line)
for rank, host in ((0, "algo-1"), (1, "algo-1"), (2, "algo-2"), (3, "algo-2")):
    f = os.path.join(jobs, "whoami-cpu/hosts", host, "opt/ml/output/data/rank-%d.json" % rank)
    rec = json.load(open(f)) if os.path.exists(f) else {}
    check(rec.get("hostname") == host and rec.get("env", {}).get("OMPI_COMM_WORLD_LOCAL_SIZE") == "2",
          "whoami rank %d runs on %s, local size 2" % (rank, host))
print("ALL OK" if ok else "SOME CHECKS FAILED")
PY
