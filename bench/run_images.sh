#!/usr/bin/env bash
# Image decoding + preprocessing throughput (issue 15): bench/image_bench beside transformers'
# AutoImageProcessor (bench/reference/image_times.py), on the test photos and Pillow-made variants
# (tests/oracles/hf_image_processor.py writes them and the processor configs), one thread each.
# Usage: bench/run_images.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
PY=${AUTOMODEL_PYTHON:-.venv/bin/python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$PY" tests/oracles/hf_image_processor.py tests/fixtures/images "$WORK" > /dev/null
for proc in clip llava siglip qwen2_vl; do
  build/bench/image_bench "$WORK/processors/$proc" "$WORK/images" "${1:-5}"
  "$PY" bench/reference/image_times.py "$WORK/processors/$proc" "$WORK/images" "${1:-5}" 2>/dev/null
done
