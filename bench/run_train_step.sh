#!/usr/bin/env bash
# Forward+backward tokens/s: AutoModel.cpp next to the PyTorch reference (the venv's torch), same config, shapes,
# dtype and threads, in the same run. Usage: bench/run_train_step.sh [CONFIG] [--seq N] [--dtype bf16] ...
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
CONFIG=${1:-bench/configs/smollm_135m.json}
shift || true
export OMP_WAIT_POLICY=PASSIVE
build/bench/train_step_bench "$CONFIG" "$@"
"${AUTOMODEL_PYTHON:-.venv/bin/python3}" bench/reference/llama_train_step.py "$CONFIG" "$@"
