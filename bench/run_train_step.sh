#!/usr/bin/env bash
# Forward+backward tokens/s: AutoModel.cpp next to the PyTorch reference, same config, shapes,
# dtype and threads, in the same run. Usage: bench/run_train_step.sh [CONFIG] [--seq N] [--dtype bf16] ...
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
CONFIG=${1:-bench/configs/smollm_135m.json}
shift || true
export OMP_WAIT_POLICY=PASSIVE
build/bench/train_step_bench "$CONFIG" "$@"
# The reference gets the same BLAS build our binaries prefer (see CMakeLists.txt).
OPENMP_BLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -e "$OPENMP_BLAS/libblas.so.3" ] && export REFERENCE_LD_PATH=$OPENMP_BLAS
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  LD_LIBRARY_PATH=${REFERENCE_LD_PATH:-} /usr/bin/python3 bench/reference/llama_train_step.py "$CONFIG" "$@"
else
  echo "pytorch    (skipped: Debian python3-torch is not installed)"
fi
