#!/usr/bin/env bash
# Single layers side by side (issue 13's speed targets): MoE against the dense MLP of the same
# active FLOPs, Gated DeltaNet against gated attention; ours, then transformers' own layers, same
# sizes and threads, in the same run. Usage: bench/run_layers.sh [--tokens N] [--hidden N] ...
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
export OMP_WAIT_POLICY=PASSIVE
build/bench/layer_bench "$@"
"${AUTOMODEL_PYTHON:-.venv/bin/python3}" bench/reference/layer_times.py "$@"
