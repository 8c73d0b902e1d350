#!/usr/bin/env bash
# The README's first command: installs, builds, and runs the main job on a real pretrained model
# shipped in the repo (stories260K, a 260K-parameter Llama trained on TinyStories).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
scripts/setup.sh
BIN=build/apps/automodel/automodel
MODEL=tests/fixtures/stories260K
$BIN inspect "$MODEL"
echo "[quickstart] greedy continuation from <s> (token ids):"
$BIN generate --model "$MODEL" --prompt-ids 1 --max-new-tokens 48
