#!/usr/bin/env bash
# The README's first command: installs, builds, and runs the main job on a fresh machine:
# a LoRA fine-tune of stories260K (a real 260K-parameter Llama trained on TinyStories, shipped
# in tests/fixtures, MIT) on GSM8K word problems (MIT), with a generation before and after.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
scripts/setup.sh
BIN=build/apps/automodel/automodel
MODEL=tests/fixtures/stories260K
RECIPE=recipes/quickstart/stories260k_gsm8k_lora.yaml
export AUTOMODEL_CHECKPOINT_DIR=${AUTOMODEL_CHECKPOINT_DIR:-checkpoints/quickstart}
PROMPT="Tom has 3 apples and buys 5 more. How many apples does he have?"
rm -rf "$AUTOMODEL_CHECKPOINT_DIR"  # a fresh run each time (a kept folder would be resumed)

echo "[quickstart] before fine-tuning:"
$BIN generate --model "$MODEL" --prompt "$PROMPT" --max-new-tokens 60
echo
$BIN "$RECIPE"
FINAL="$AUTOMODEL_CHECKPOINT_DIR/LATEST/model"
echo
echo "[quickstart] validation loss (step: loss):"
sed -E 's/.*"step":([0-9]+).*"val_loss":([0-9.]+).*/  \1: \2/' "$AUTOMODEL_CHECKPOINT_DIR/validation.jsonl"
echo "[quickstart] after fine-tuning (base + LoRA adapter in $FINAL):"
$BIN generate --model "$MODEL" --adapter "$FINAL" --prompt "$PROMPT" --max-new-tokens 60
echo
echo "[quickstart] checkpoints in $AUTOMODEL_CHECKPOINT_DIR; merged HF model in $FINAL/consolidated"
CURVES="$AUTOMODEL_CHECKPOINT_DIR/training_curves.png"
if [ -f "$CURVES" ]; then  # drawn at the end of training (PLplot); the log says why when it is not
  echo "[quickstart] training curves (loss with val loss, lr, grad norm, tps): $CURVES (and ${CURVES%.png}.svg)"
fi
