#!/usr/bin/env bash
# Run on the GPU machine: unpacks .deps/debs (scripts/gpu/fetch_deps.sh) into .deps/root and
# builds build-cuda/ against that machine's pip PyTorch (its CUDA LibTorch, NCCL included), as
# scripts/setup.sh builds against the venv's torch here.
# Source it (". scripts/gpu/build.sh") to keep LD_LIBRARY_PATH for running the binaries.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
ROOT=$PWD/.deps/root
if [ ! -d "$ROOT/usr" ]; then
  mkdir -p "$ROOT"
  for deb in .deps/debs/*.deb; do dpkg -x "$deb" "$ROOT"; done
fi
LIB=$ROOT/usr/lib/x86_64-linux-gnu
export CMAKE_PREFIX_PATH=$ROOT/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
export CPATH=$ROOT/usr/include${CPATH:+:$CPATH}
export LIBRARY_PATH=$LIB${LIBRARY_PATH:+:$LIBRARY_PATH}
export LD_LIBRARY_PATH=$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
PYTHON=${PYTHON:-$(command -v python3)}
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTOMODEL_PYTHON="$PYTHON"
cmake --build build-cuda -j "$(nproc)"
