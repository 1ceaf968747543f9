#!/usr/bin/env bash
# Configures and builds everything into ./build (Release-ish, Ninja).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SMP_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja "$@" >/dev/null
ninja -C "$build"
