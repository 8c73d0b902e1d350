#!/usr/bin/env bash
# Builds against the CUDA LibTorch inside a pip PyTorch 2.x (the Debian LibTorch is CPU-only).
# Usage: scripts/build-cuda.sh [BUILD_DIR=build-cuda]   (needs python3 with torch, nvcc, CUDA)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
BUILD_DIR=${1:-build-cuda}
PYTHON=${PYTHON:-python3}
TORCH_PREFIX=$($PYTHON -c 'import torch; print(torch.utils.cmake_prefix_path)')
# pip wheels are built with the new C++ ABI since 2.6; follow whatever this wheel reports.
CXX11_ABI=$($PYTHON -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')
# nccl.h for the NCCL process group comes with the wheel's nvidia-nccl package.
NCCL_INCLUDE_DIR=$($PYTHON -c 'import os, nvidia.nccl; print(os.path.join(list(nvidia.nccl.__path__)[0], "include"))' \
  2>/dev/null || true)
# AUTOMODEL_NO_APT=1: the dependencies come from elsewhere (scripts/gpu/build.sh).
[ -n "${AUTOMODEL_NO_APT:-}" ] || scripts/setup.sh --deps-only
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$CXX11_ABI" \
  -DAUTOMODEL_TCMALLOC=OFF -DNCCL_INCLUDE_DIR="$NCCL_INCLUDE_DIR"
cmake --build "$BUILD_DIR" -j "$(nproc)"
echo "[build-cuda] built $BUILD_DIR; run e.g. $BUILD_DIR/apps/automodel/automodel debug forward --device cuda ..."
