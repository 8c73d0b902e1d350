#!/usr/bin/env bash
# Run on the GPU machine: unpacks .deps/debs (scripts/gpu/fetch_deps.sh) into .deps/root and
# builds build-cuda/ against the pip PyTorch's CUDA LibTorch, with NCCL process groups.
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
AUTOMODEL_NO_APT=1 scripts/build-cuda.sh build-cuda
