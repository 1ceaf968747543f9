#!/bin/bash
# Builds libsmp (no emulator) against this machine's LibTorch — the pip wheel's CUDA LibTorch on a
# GPU machine — with Debian's Open MPI carried in .gpu/root (scripts/gpu/prepare.sh), and runs
# the GPU tests (label gpu) and libsmp's single-rank step test there.
#   bash .gpu/run.sh OUTDIR
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
G=$root/.gpu/root
. "$root/.gpu/env.sh"
out=${1:-/tmp/gpu-out}
mkdir -p "$out"
b=$root/build-gpu
exec > >(tee "$out/run.log") 2>&1
echo "== machine"; nvidia-smi -L 2>&1 | head -2; nvcc --version 2>&1 | tail -2; nproc
torch_prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>/dev/null
where="/usr/local/cuda/ /usr/lib/ /opt/ $(python3 -c 'import site;print(" ".join(site.getsitepackages()))' 2>/dev/null)"
nccl_h=$(ls /usr/local/cuda/include/nccl.h 2>/dev/null || find $where -name nccl.h 2>/dev/null | head -1)
nccl_so=$(ls /usr/local/cuda/lib64/libnccl.so 2>/dev/null || find $where -name "libnccl.so*" 2>/dev/null | grep -v stub | head -1)
echo "nccl: $nccl_h $nccl_so"
echo "== configure"
cmake -S "$root" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMP_BUILD_EMULATOR=OFF \
  -DSMP_WITH_TORCH=ON -DSMP_WITH_NCCL=ON -DCMAKE_PREFIX_PATH="${torch_prefix:+$torch_prefix;}$G/usr" \
  -DCUDAToolkit_ROOT=/usr/local/cuda -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc -DMPI_C_HEADER_DIR="$G/usr/lib/x86_64-linux-gnu/openmpi/include" \
  -DMPI_C_LIB_NAMES=mpi -DMPI_mpi_LIBRARY="$G/usr/lib/x86_64-linux-gnu/libmpi.so.40" \
  -DSMP_MPIRUN="$G/usr/bin/orterun" -DSMP_NCCL_INCLUDE_DIR="$(dirname "$nccl_h")" \
  -DSMP_NCCL_LIBRARY="$nccl_so" > "$out/configure.log" 2>&1 || { tail -60 "$out/configure.log"; exit 1; }
grep -E "libsmp|Torch|CUDA|MPI|Warn" "$out/configure.log" | head -20
echo "== build"
time ninja -C "$b" test_smp_gpu_pipeline test_smp_nccl test_smp_step > "$out/build.log" 2>&1 || { grep -B5 -A20 -m3 "error" "$out/build.log"; exit 1; }
echo "== tests"
ldd "$b/tests/libsmp/test_smp_gpu_pipeline" | grep -E "torch|mpi|nccl|cudart"
cd "$b" && ctest -R "gpu_pipeline|nccl|step_np1" --output-on-failure -V 2>&1 | grep -vE "^[0-9]+: (Test command|Environment|Working)" | tail -80
