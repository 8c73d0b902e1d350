#!/usr/bin/env bash
# Peak memory of fine-tuning: `automodel` (mock data) beside plain PyTorch training the same
# model (bench/reference/llama_finetune.py, the venv's torch) in the same run, for full and LoRA
# r=8 fine-tuning at batch 1/4/8 x seq 256/1024. Peak RSS of each whole process, measured the
# same way for both (GNU time's maximum resident set size), after 2 optimizer steps (the
# optimizer state exists from the first).
# Usage: [MODES="full lora"] bench/run_memory.sh [CONFIG.json] ["BATCHES"] ["SEQS"]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
CONFIG=${1:-bench/configs/llama_74m.json}
BATCHES=${2:-"1 4 8"}
SEQS=${3:-"256 1024"}
BIN=build/apps/automodel/automodel
PY=${AUTOMODEL_PYTHON:-.venv/bin/python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMP_WAIT_POLICY=PASSIVE
"$PY" bench/make_random_model.py "$CONFIG" "$WORK/model" > /dev/null
VOCAB=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['vocab_size'])" "$CONFIG")
peak_mib() { /usr/bin/time -f "%M" -o "$WORK/rss" "$@" > "$WORK/log.txt" 2>&1 || { cat "$WORK/log.txt"; exit 1; }
             echo $(( $(cat "$WORK/rss") / 1024 )); }
echo "config $CONFIG, fp32, $(nproc) threads; peak RSS in MiB"
echo "| run | batch x seq | ours | PyTorch | ours / PyTorch |"
echo "|---|---|---|---|---|"
for MODE in ${MODES:-full lora}; do
  for BATCH in $BATCHES; do
    for SEQ in $SEQS; do
      PEFT="--peft=null"; LORA=0
      [ "$MODE" = lora ] && PEFT="--peft._target_=nemo_automodel.components._peft.lora.PeftConfig --peft.dim=8" && LORA=8
      cat > "$WORK/recipe.yaml" <<YAML
model: {pretrained_model_name_or_path: $WORK/model, torch_dtype: fp32}
dataset: {_target_: MockIterableDataset, vocab_size: $VOCAB, seq_len: $SEQ, num_samples: $((2 * BATCH))}
step_scheduler: {global_batch_size: $BATCH, local_batch_size: $BATCH, max_steps: 2}
optimizer: {_target_: torch.optim.AdamW, lr: 1.0e-5, weight_decay: 0.0}
checkpoint: {enabled: false, checkpoint_dir: $WORK/ckpt}
YAML
      OURS=$(peak_mib $BIN "$WORK/recipe.yaml" $PEFT)
      REF=$(peak_mib "$PY" bench/reference/llama_finetune.py "$CONFIG" --seq "$SEQ" --batch "$BATCH" --steps 1 \
            --warmup 1 --lora "$LORA")
      rm -rf "$WORK/ckpt"
      echo "| $MODE | $BATCH x $SEQ | $OURS | $REF | $(awk "BEGIN {printf \"%.2f\", $OURS / $REF}") |"
    done
  done
done
