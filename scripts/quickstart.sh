#!/usr/bin/env bash
# README command 1: installs every dependency (apt), builds smp-local and the Fashion-MNIST sample,
# and runs samples/fashion_mnist/job.json (SageMaker's model-parallel MNIST example, redone with
# libsmp: 8 ranks, 2 pipeline stages x 4 data-parallel replicas) end to end through smp-local.
# Extra arguments go to `smp-local run` (e.g. --gpus 0,1,2,3,4,5,6,7 or -H epochs=1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build=${SMP_BUILD_DIR:-$root/build}
cd "$root"
exec "$build/bin/smp-local" run samples/fashion_mnist/job.json \
  --source-dir "$build/samples/fashion_mnist/bin" "$@"
