#!/usr/bin/env bash
# fsdp2 memory per rank: 1 process, then 2 processes resharding after forward (default) and
# keeping layers gathered until backward (reshard_after_forward: false), in the same run.
# Prints each rank's training state (parameters + gradients + AdamW moments, as the ranks report
# it), rank 0's peak RSS, and the losses (which must agree).
# Usage: bench/run_fsdp_memory.sh [CONFIG.json] [SEQ] [STEPS]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
CONFIG=${1:-bench/configs/smollm_135m.json}
SEQ=${2:-256}
STEPS=${3:-2}
BIN=build/apps/automodel/automodel
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMP_WAIT_POLICY=PASSIVE
PY=${AUTOMODEL_PYTHON:-.venv/bin/python3}
"$PY" bench/make_random_model.py "$CONFIG" "$WORK/model"
VOCAB=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['vocab_size'])" "$CONFIG")
cat > "$WORK/recipe.yaml" <<YAML
model: {pretrained_model_name_or_path: $WORK/model, torch_dtype: fp32}
dataset: {_target_: nemo_automodel.components.datasets.llm.mock_iterable_dataset.MockIterableDataset, vocab_size: $VOCAB, seq_len: $SEQ, num_samples: 64}
step_scheduler: {global_batch_size: 2, local_batch_size: 1, max_steps: $STEPS}
optimizer: {_target_: torch.optim.AdamW, lr: 1.0e-5, weight_decay: 0.0}
distributed: {strategy: fsdp2}
checkpoint: {enabled: false, checkpoint_dir: $WORK/ckpt}
YAML
echo "config $CONFIG, seq $SEQ, global batch 2, $STEPS steps, $(nproc) cores"
run() {  # label, extra arguments
  $BIN "$WORK/recipe.yaml" "${@:2}" > "$WORK/log.txt" 2>&1 || { cat "$WORK/log.txt"; exit 1; }
  grep -o "rank [0-9]*: training state [^,]*" "$WORK/log.txt" | sed "s/^/$1: /"
  "$PY" - "$WORK/ckpt/training.jsonl" "$1" "$((2 * SEQ))" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
last = rows[-1]
# tps = the step's tokens (global batch x seq, mock rows have no padding) / its seconds
print(f"{sys.argv[2]}: rank 0 peak RSS {last['mem']:.2f} GiB, last step {int(sys.argv[3]) / last['tps']:.1f} s, "
      f"losses {[r['loss'] for r in rows]}")
PY
  rm -rf "$WORK/ckpt"
}
run "1 process" --step_scheduler.local_batch_size=2
run "2 processes, reshard_after_forward" --nproc-per-node 2
run "2 processes, no reshard" --nproc-per-node 2 --distributed.reshard_after_forward=false
