#!/usr/bin/env bash
# The README's first command: installs, builds, and runs the main job on a real pretrained model
# shipped in the repo (stories260K, a 260K-parameter Llama trained on TinyStories, MIT).
# Until the fine-tuning recipes land, the job inspects the model and generates a story with it.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
scripts/setup.sh
BIN=build/apps/automodel/automodel
MODEL=tests/fixtures/stories260K
$BIN inspect "$MODEL"
echo
echo "[quickstart] greedy story from \"Once upon a time\":"
$BIN generate --model "$MODEL" --prompt "Once upon a time" --max-new-tokens 80
echo "[quickstart] sampled (temperature 0.8, top-p 0.9, seed 7):"
$BIN generate --model "$MODEL" --prompt "Lily and Ben" --max-new-tokens 80 --temperature 0.8 --top-p 0.9 --seed 7
