#!/usr/bin/env bash
# VLM fine-tuning tokens/s and peak memory: `automodel` FinetuneRecipeForVLM on a small LLaVA
# (tests/oracles/tiny_vlm.py --size bench: CLIP 4 layers x 128 + Llama 4 layers x 256, Llama-2
# vocabulary; FAMILY idefics3: its tower at 32 px tiles + the same Llama, SmolLM2 vocabulary) and the
# LLaVA demo conversations (6 rows, 3 photos), full (vision tower and embeddings
# frozen) and LoRA r=8 on the language model, next to HF transformers + PEFT on the same rows in the
# same run (bench/reference/hf_peft_vlm_finetune.py). Ours preprocesses every image once before
# training (and says how fast); the reference runs its processor inside each step, as its collate does.
# Usage: bench/run_vlm_finetune.sh [STEPS] [FAMILY (llava | idefics3)]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
STEPS=${1:-10}
FAMILY=${2:-llava}
WARMUP=2
BATCH=2
BIN=build/apps/automodel/automodel
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMP_WAIT_POLICY=PASSIVE
export AUTOMODEL_DATASET_CACHE=0  # measure the preprocessing, not the cache
PY=${AUTOMODEL_PYTHON:-.venv/bin/python3}
ROWS=$PWD/tests/fixtures/datasets/vlm_demo/mllm_demo.json
"$PY" tests/oracles/tiny_vlm.py "$WORK/model" --size bench --family "$FAMILY" > /dev/null 2>&1
echo "tiny $FAMILY (bench size), batch $BATCH, $STEPS timed steps after $WARMUP"
for MODE in full lora; do
  PEFT="--peft=null"
  [ "$MODE" = lora ] && PEFT="--peft._target_=nemo_automodel.components._peft.lora.PeftConfig --peft.dim=8"
  cat > "$WORK/recipe.yaml" <<YAML
recipe: FinetuneRecipeForVLM
model: {_target_: nemo_automodel.NeMoAutoModelForImageTextToText.from_pretrained, pretrained_model_name_or_path: $WORK/model, torch_dtype: fp32, attn_implementation: eager}
dataset: {_target_: nemo_automodel.components.datasets.vlm.datasets.make_meta_dataset, path_or_dataset: $ROWS}
step_scheduler: {global_batch_size: $BATCH, local_batch_size: $BATCH, max_steps: $((STEPS + WARMUP)), num_epochs: 100}
optimizer: {_target_: torch.optim.AdamW, lr: 1.0e-5, weight_decay: 0.0}
freeze_config: {freeze_embeddings: true, freeze_vision_tower: true}
checkpoint: {enabled: false, checkpoint_dir: $WORK/ckpt}
YAML
  $BIN "$WORK/recipe.yaml" $PEFT > "$WORK/log.txt" 2>&1 || { cat "$WORK/log.txt"; exit 1; }
  grep -o "[0-9.]* images/s" "$WORK/log.txt" | head -1 | sed 's/^/automodel  image preprocessing before training: /'
  "$PY" - "$WORK/ckpt/training.jsonl" "$WARMUP" "$MODE" "$BATCH" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2]):]
kind = "full" if sys.argv[3] == "full" else "lora r=8"
tps = sum(r["tps"] for r in rows) / len(rows)
print(f"automodel  vlm {kind} batch={sys.argv[4]}: {tps:.1f} tok/s, peak RSS {rows[-1]['mem'] * 1024:.0f} MiB")
PY
  rm -rf "$WORK/ckpt"
  LORA=0; [ "$MODE" = lora ] && LORA=8
  "$PY" bench/reference/hf_peft_vlm_finetune.py "$WORK/model" "$ROWS" --batch "$BATCH" --steps "$STEPS" \
    --warmup "$WARMUP" --lora "$LORA" 2>/dev/null
done
