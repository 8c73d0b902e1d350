#!/usr/bin/env bash
# Fine-tuning tokens/s and peak memory: `automodel <recipe>` (mock data, full and LoRA) next to
# two references on the same model config, sequence length, batch, optimizer and threads, in the
# same run: plain PyTorch (bench/reference/llama_finetune.py) and HF transformers + PEFT
# (bench/reference/hf_peft_finetune.py, what users would otherwise run); both use the venv's torch.
# Usage: [DTYPE=bf16] bench/run_finetune.sh [CONFIG.json] [SEQ] [STEPS]
# DTYPE bf16: bf16 autocast over fp32 weights on every side (automodel's torch_dtype: bf16).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
CONFIG=${1:-bench/configs/smollm_135m.json}
SEQ=${2:-512}
STEPS=${3:-4}
WARMUP=2
DTYPE=${DTYPE:-fp32}
BIN=build/apps/automodel/automodel
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMP_WAIT_POLICY=PASSIVE
PY=${AUTOMODEL_PYTHON:-.venv/bin/python3}
"$PY" bench/make_random_model.py "$CONFIG" "$WORK/model"
# Real data for the packed run: GSM8K with SmolLM2's tokenizer (vocab 49152, as the default config).
TOKENIZER=tests/fixtures/tokenizers/smollm2_135m_instruct/tokenizer.json.gz
gzip -dc "$TOKENIZER" > "$WORK/model/tokenizer.json"
VOCAB=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['vocab_size'])" "$CONFIG")
echo "config $CONFIG, $DTYPE, seq $SEQ, batch 1, $STEPS timed steps after $WARMUP"
MODES="full lora"
[ "$VOCAB" = 49152 ] && MODES="$MODES lora-packed"  # the tokenizer's vocabulary must fit the model
for MODE in $MODES; do
  PEFT="--peft=null"
  [ "$MODE" != full ] && PEFT="--peft._target_=nemo_automodel.components._peft.lora.PeftConfig --peft.dim=8"
  DATASET="{_target_: nemo_automodel.components.datasets.llm.mock_iterable_dataset.MockIterableDataset, vocab_size: $VOCAB, seq_len: $SEQ, num_samples: $((STEPS + WARMUP))}"
  PACK=0
  if [ "$MODE" = lora-packed ]; then
    DATASET="{_target_: ColumnMappedTextInstructionDataset, path_or_dataset_id: tests/fixtures/datasets/gsm8k/train.jsonl.gz, column_mapping: {question: question, answer: answer}, limit_dataset_samples: 400, skip_invalid_samples: true}"
    PACK=$SEQ
  fi
  cat > "$WORK/recipe.yaml" <<YAML
model: {pretrained_model_name_or_path: $WORK/model, torch_dtype: $DTYPE}
dataset: $DATASET
packed_sequence: {packed_sequence_size: $PACK}
step_scheduler: {global_batch_size: 1, local_batch_size: 1, max_steps: $((STEPS + WARMUP))}
optimizer: {_target_: torch.optim.AdamW, lr: 1.0e-5, weight_decay: 0.0}
checkpoint: {enabled: false, checkpoint_dir: $WORK/ckpt}
YAML
  $BIN "$WORK/recipe.yaml" $PEFT > "$WORK/log.txt" 2>&1 || { cat "$WORK/log.txt"; exit 1; }
  "$PY" - "$WORK/ckpt/training.jsonl" "$WARMUP" "$MODE" "$SEQ" "$DTYPE" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2]):]
seq = int(sys.argv[4])
kind = {"full": "full", "lora": "lora r=8", "lora-packed": "lora r=8, packed GSM8K"}[sys.argv[3]]
kind += " bf16" if sys.argv[5] == "bf16" else ""
# tps counts real tokens (a packed row may end in a little padding); mean over the timed steps.
tps = sum(r["tps"] for r in rows) / len(rows)
print(f"automodel  {kind} seq={seq} batch=1: {tps:.1f} tok/s, peak RSS {rows[-1]['mem'] * 1024:.0f} MiB")
PY
  rm -rf "$WORK/ckpt"
  [ "$MODE" = lora-packed ] && continue  # same shapes as the lora reference run above
  LORA=0; [ "$MODE" = lora ] && LORA=8
  "$PY" bench/reference/llama_finetune.py "$CONFIG" --seq "$SEQ" --steps "$STEPS" --warmup "$WARMUP" --lora "$LORA" \
    --dtype "$DTYPE"
  "$PY" bench/reference/hf_peft_finetune.py "$WORK/model" --seq "$SEQ" --steps "$STEPS" --warmup "$WARMUP" --lora "$LORA" \
    --dtype "$DTYPE"
done
