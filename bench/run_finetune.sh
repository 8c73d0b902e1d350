#!/usr/bin/env bash
# Fine-tuning tokens/s and peak memory: `automodel <recipe>` (mock data, full and LoRA) next to
# the PyTorch reference (bench/reference/llama_finetune.py) on the same model config, sequence
# length, batch, optimizer and threads, in the same run.
# Usage: bench/run_finetune.sh [CONFIG.json] [SEQ] [STEPS]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
CONFIG=${1:-bench/configs/smollm_135m.json}
SEQ=${2:-512}
STEPS=${3:-4}
WARMUP=2
BIN=build/apps/automodel/automodel
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMP_WAIT_POLICY=PASSIVE
OPENMP_BLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp
[ -e "$OPENMP_BLAS/libblas.so.3" ] && REFERENCE_LD_PATH=$OPENMP_BLAS
/usr/bin/python3 bench/make_random_model.py "$CONFIG" "$WORK/model"
VOCAB=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['vocab_size'])" "$CONFIG")
echo "config $CONFIG, seq $SEQ, batch 1, $STEPS timed steps after $WARMUP, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
for MODE in full lora; do
  PEFT="--peft=null"
  [ "$MODE" = lora ] && PEFT="--peft._target_=nemo_automodel.components._peft.lora.PeftConfig --peft.dim=8"
  cat > "$WORK/recipe.yaml" <<YAML
model: {pretrained_model_name_or_path: $WORK/model, torch_dtype: fp32}
dataset:
  _target_: nemo_automodel.components.datasets.llm.mock_iterable_dataset.MockIterableDataset
  vocab_size: $VOCAB
  seq_len: $SEQ
  num_samples: $((STEPS + WARMUP))
step_scheduler: {global_batch_size: 1, local_batch_size: 1, max_steps: $((STEPS + WARMUP))}
optimizer: {_target_: torch.optim.AdamW, lr: 1.0e-5, weight_decay: 0.0}
checkpoint: {enabled: false, checkpoint_dir: $WORK/ckpt}
YAML
  $BIN "$WORK/recipe.yaml" $PEFT > "$WORK/log.txt" 2>&1 || { cat "$WORK/log.txt"; exit 1; }
  /usr/bin/python3 - "$WORK/ckpt/training.jsonl" "$WARMUP" "$MODE" "$SEQ" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2]):]
seq = int(sys.argv[4])
secs = sum(seq / r["tps"] for r in rows)
kind = "lora r=8" if sys.argv[3] == "lora" else "full"
print(f"automodel  {kind} seq={seq} batch=1: {seq * len(rows) / secs:.1f} tok/s, peak RSS {rows[-1]['mem'] * 1024:.0f} MiB")
PY
  rm -rf "$WORK/ckpt"
  LORA=0; [ "$MODE" = lora ] && LORA=8
  if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    LD_LIBRARY_PATH=${REFERENCE_LD_PATH:-} /usr/bin/python3 bench/reference/llama_finetune.py "$CONFIG" --seq "$SEQ" \
      --steps "$STEPS" --warmup "$WARMUP" --lora "$LORA"
  else
    echo "pytorch    (skipped: Debian python3-torch is not installed)"
  fi
done
