#!/usr/bin/env bash
# Builds the safetensors parser fuzz target with clang (libFuzzer + ASan + UBSan) and runs it.
# Usage: scripts/fuzz.sh [seconds=60]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
SECONDS_TO_RUN=${1:-60}
OUT=build-fuzz
mkdir -p "$OUT/corpus"
command -v clang++ >/dev/null || { apt-get install -y -qq clang >/dev/null; }
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc \
  tests/fuzz/safetensors_fuzz.cpp src/automodel/hf/safetensors_header.cpp src/automodel/hf/dtype.cpp \
  src/automodel/common/error.cpp src/automodel/common/string_util.cpp -lfmt -o "$OUT/safetensors_fuzz"
cp tests/fixtures/safetensors/*.safetensors "$OUT/corpus/"
"$OUT/safetensors_fuzz" -max_total_time="$SECONDS_TO_RUN" -max_len=4096 "$OUT/corpus"
