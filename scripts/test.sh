#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts the test services (S3 servers on
# 127.0.0.1), runs every CTest test except the `long` label (add --long for those too).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SMP_BUILD_DIR:-$root/build}
exclude='long'
for arg in "$@"; do
  case "$arg" in
    --long) exclude='^$' ;;
    *) echo "usage: scripts/test.sh [--long]" >&2; exit 2 ;;
  esac
done

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"

services_pid=()
cleanup() { for s in "$root"/scripts/*/stop-servers.sh; do [ -x "$s" ] && "$s" || true; done; }
trap cleanup EXIT
for s in "$root"/scripts/*/start-servers.sh; do
  [ -x "$s" ] && "$s"
done
[ -f "$build/test-services.env" ] && set -a && . "$build/test-services.env" && set +a

cd "$build"
ctest --output-on-failure --timeout 900 -j 2 -LE "$exclude"
