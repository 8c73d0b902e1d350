#!/usr/bin/env bash
# The GPU checks, for a session lent a device machine: build against the machine's CUDA LibTorch
# (scripts/gpu/build.sh), the CTest label `cuda` (HF parity of every fixture model on CUDA, fp32,
# against the golden outputs HF transformers wrote on CPU), then a short LoRA fine-tune of
# stories260K on CUDA (bf16 autocast) beside the same steps on CPU fp32. Results go to $OUT (or /tmp/gpu_check).
# Usage there: scripts/gpu/check.sh   (carry .deps, made here by scripts/gpu/fetch_deps.sh)
set -uo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.." || exit 1
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
START=$SECONDS
# shellcheck disable=SC1091  # sourced for its LD_LIBRARY_PATH; it sets -e, the checks below go on after failures
. scripts/gpu/build.sh > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
set +e
echo "[gpu] built in $((SECONDS - START)) s"
BIN=build-cuda/apps/automodel/automodel
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader

echo "[gpu] CTest label cuda: HF parity of every fixture model on CUDA (fp32, golden tensors from CPU)"
ctest --test-dir build-cuda -L cuda --output-on-failure > "$OUT/ctest_cuda.log" 2>&1
tail -5 "$OUT/ctest_cuda.log"
build-cuda/apps/automodel/automodel --version

echo "[gpu] stories260K LoRA, 20 steps: CUDA bf16 vs CPU fp32"
for device in cuda cpu; do
  dtype=bf16; [ $device = cpu ] && dtype=fp32
  $BIN recipes/quickstart/stories260k_gsm8k_lora.yaml --model.device=$device --model.torch_dtype=$dtype \
    --step_scheduler.max_steps=20 --checkpoint.checkpoint_dir="$OUT/ckpt_$device" > "$OUT/finetune_$device.log" 2>&1 ||
    { echo "$device: $(tail -1 "$OUT/finetune_$device.log")"; continue; }
  grep -m1 "mfu against" "$OUT/finetune_$device.log" | sed "s/^/$device: /"  # the peak MFU uses (GPU: datasheet)
  grep -E "^step (1|10|20) " "$OUT/finetune_$device.log" | sed "s/^/$device: /"
done
echo "[gpu] done in $((SECONDS - START)) s"
