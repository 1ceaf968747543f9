#!/bin/bash
# Run here (Debian 12, apt): unpacks the Debian packages libsmp needs and a GPU machine lacks (Open
# MPI 4.1.4 with its runtime libraries, nlohmann_json, Catch2 3) into .gpu/root, and copies the
# scripts beside it. With smp-local built here (scripts/build.sh), it also packs smp-local's tools
# and the runtime libraries they may not find there into .gpu/emulator.tar.xz. Then carry `.gpu`
# to the GPU machine and run `bash .gpu/run.sh OUTDIR` (libsmp) and/or
# `bash .gpu/emulator-check.sh OUTDIR` (smp-local) there.
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
cp "$root/scripts/gpu/env.sh" "$root/scripts/gpu/run.sh" "$root/scripts/gpu/emulator-check.sh" "$root/.gpu/"
build=${SMP_BUILD_DIR:-$root/build}
if [ -x "$build/bin/smp-local" ]; then
  pack=$(mktemp -d)
  mkdir -p "$pack/bin" "$pack/lib"
  cp "$build/bin/smp-local" "$build/bin/smp-local-host-agent" "$build/bin/libsmp_local_gethostname.so" "$pack/bin/"
  strip --strip-debug "$pack"/bin/*
  # pugixml is linked; libarchive (with what it links) is loaded at run time for packaging.
  for l in libpugixml.so.1 libarchive.so.13 libnettle.so.8 libacl.so.1 liblzma.so.5 libzstd.so.1 \
           liblz4.so.1 libbz2.so.1.0 libxml2.so.2 libicuuc.so.72 libicudata.so.72; do
    cp -L "/usr/lib/x86_64-linux-gnu/$l" "$pack/lib/"
  done
  tar cJf "$root/.gpu/emulator.tar.xz" -C "$pack" bin lib
  rm -rf "$pack"
fi
du -sh "$root/.gpu"
