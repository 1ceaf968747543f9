#!/usr/bin/env bash
# README command 1: installs every dependency (apt), builds what the job needs (smp-local, its
# host tools and libsmp's Python package smdistributed.modelparallel.torch) and runs
# samples/smp_fashion_mnist/job.json — SageMaker's model-parallel MNIST estimator (8 ranks,
# 2 pipeline stages x 4 data-parallel replicas) with a Python SMP script — end to end through
# smp-local. Extra arguments go to `smp-local run` (e.g. --gpus 0,1,2,3,4,5,6,7 or -H epochs=1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
build=${SMP_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja >/dev/null
ninja -C "$build" smp-local smp-local-host-agent smp-local-watchdog smp_local_gethostname smp_python
cd "$root"
exec "$build/bin/smp-local" run samples/smp_fashion_mnist/job.json "$@"
