#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts the test services (S3 servers on
# 127.0.0.1), runs every CTest test except the `long` label (add --long for those too).
#   --sanitize: the emulator and libsmp's core built with ASan+UBSan (no LibTorch) in build-asan,
#               their unit, e2e and s3 tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SMP_BUILD_DIR:-$root/build}
exclude='long'
configure=()
for arg in "$@"; do
  case "$arg" in
    --long) exclude='^$' ;;
    --sanitize)
      build=${SMP_BUILD_DIR:-$root/build-asan}
      configure=(-DSMP_SANITIZE=ON -DSMP_WITH_TORCH=OFF -DCMAKE_BUILD_TYPE=Debug)
      exclude='long|mpi|gpu'
      # Without namespaces every process of an emulated host gets the gethostname shim preloaded,
      # the instrumented host agent included; the shim interposes nothing ASan needs.
      export ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" ;;
    *) echo "usage: scripts/test.sh [--long] [--sanitize]" >&2; exit 2 ;;
  esac
done
export SMP_BUILD_DIR=$build

"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "${configure[@]}"

cleanup() { for s in "$root"/scripts/*/stop-servers.sh; do [ -x "$s" ] && "$s" || true; done; }
trap cleanup EXIT
for s in "$root"/scripts/*/start-servers.sh; do
  [ -x "$s" ] && "$s"
done
[ -f "$build/test-services.env" ] && set -a && . "$build/test-services.env" && set +a
# install-deps.sh installed Node.js and awscli: S3 tests that skip here would be a broken set-up
# passing silently (SMP_TEST_ALLOW_NO_S3=1 allows it on a machine without them).
if [ -z "${SMP_TEST_S3_ENDPOINT:-}" ] || [ -z "${SMP_TEST_AWSCLI:-}" ]; then
  if [ "${SMP_TEST_ALLOW_NO_S3:-0}" != 1 ]; then
    echo "scripts/test.sh: the S3 test servers or awscli are missing (see $build/test-services.env);" \
         "the s3 tests would only skip. Set SMP_TEST_ALLOW_NO_S3=1 to run without them." >&2
    exit 1
  fi
fi

cd "$build"
ctest --output-on-failure --timeout 900 -j 2 -LE "$exclude"
