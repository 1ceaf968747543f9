#!/bin/bash
# Run here (Debian 12, apt): unpacks the Debian packages libsmp needs and a GPU machine lacks (Open
# MPI 4.1.4 with its runtime libraries, nlohmann_json, Catch2 3) into .gpu/root, and copies the two
# scripts beside it. Then carry `.gpu` to the GPU machine and run `bash .gpu/run.sh OUTDIR` there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
debs=$(mktemp -d)
trap 'rm -rf "$debs"' EXIT
(cd "$debs" && apt-get download -q libopenmpi3 libopenmpi-dev openmpi-bin openmpi-common \
  libevent-2.1-7 libevent-core-2.1-7 libevent-pthreads-2.1-7 libfabric1 libhwloc15 libibverbs1 \
  libmunge2 libnl-3-200 libnl-route-3-200 libnuma1 libpmix2 libpsm-infinipath1 libpsm2-2 librdmacm1 \
  libucx0 libpciaccess0 libltdl7 nlohmann-json3-dev libcatch2-dev)
rm -rf "$root/.gpu"
mkdir -p "$root/.gpu/root"
for f in "$debs"/*.deb; do dpkg -x "$f" "$root/.gpu/root"; done
# What the build and the tests never use (keeps the carried tree small).
(cd "$root/.gpu/root" && rm -rf usr/share/doc usr/share/man usr/share/lintian usr/lib/x86_64-linux-gnu/fortran &&
  find . \( -name "*fort*" -o -name "*java*" -o -name "liboshmem*" \) -prune -exec rm -rf {} +)
cp "$root/scripts/gpu/env.sh" "$root/scripts/gpu/run.sh" "$root/.gpu/"
du -sh "$root/.gpu"
