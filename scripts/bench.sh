#!/usr/bin/env bash
# Runs every benchmark the issues name and prints one table of the ratios each measured against
# its own baseline in the same run. Full outputs go to build/bench/<name>.txt.
#   scripts/bench.sh [--quick]     (--quick: fewer repetitions, smaller archive)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SMP_BUILD_DIR:-$root/build}
quick=0
[ "${1:-}" = "--quick" ] && quick=1
out="$build/bench"
mkdir -p "$out"

"$root/scripts/build.sh" >/dev/null
perf="$build/tests/perf"

# S3 servers of our own for bench_s3.
export SMP_TEST_ENV="$out/test-services.env"
"$root/scripts/s3/start-servers.sh" >/dev/null
[ -f "$SMP_TEST_ENV" ] && set -a && . "$SMP_TEST_ENV" && set +a
trap 'SMP_TEST_ENV="$out/test-services.env" "$root/scripts/s3/stop-servers.sh" >/dev/null 2>&1 || true' EXIT

launch_runs=21; s3_runs=3; archive_mib=512
if [ $quick = 1 ]; then launch_runs=7; s3_runs=1; archive_mib=128; fi

run() {  # name argv...
  local name=$1; shift
  if [ ! -x "$1" ]; then echo "  (skipped: $1 not built)" >"$out/$name.txt"; return; fi
  echo "== $name" >&2
  "$@" >"$out/$name.txt" 2>&1 || echo "  (failed: exit $?)" >>"$out/$name.txt"
}

run launch        "$perf/bench_launch" --runs "$launch_runs"
run staging       "$perf/bench_staging"
run archive       "$perf/bench_archive" --size-mib "$archive_mib" --runs 3
run s3            "$perf/bench_s3" --runs "$s3_runs"
run bubble        "$perf/bench_pipeline_bubble"
run speedup       "$perf/bench_pipeline_speedup"
run step_overhead "$perf/bench_step_overhead"
run ddp_allreduce "$perf/bench_ddp_allreduce"
# The Python package (overhead, 2-stage speedup, bubble of Python-driven steps).
python=$(grep -m1 '^Python3_EXECUTABLE:' "$build/CMakeCache.txt" | cut -d= -f2 || true)
if [ -n "$python" ] && [ -d "$build/python/smdistributed" ]; then
  echo "== python" >&2
  PYTHONPATH="$build/python" "$python" "$root/tests/perf/python/bench_python.py" all \
    --mpirun "$(command -v mpirun)" >"$out/python.txt" 2>&1 || echo "  (failed: exit $?)" >>"$out/python.txt"
else
  echo "  (skipped: the Python package is not built)" >"$out/python.txt"
fi

echo
echo "Benchmarks on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
for name in launch staging archive s3 bubble speedup step_overhead ddp_allreduce python; do
  echo "[$name]"
  grep -iE 'ratio|target|bubble|overhead|speedup|skipped|failed' "$out/$name.txt" | sed 's/^/  /' || true
done
