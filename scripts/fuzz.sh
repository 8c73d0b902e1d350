#!/usr/bin/env bash
# Builds a libFuzzer target with clang (ASan + UBSan) and runs it.
# Usage: scripts/fuzz.sh [safetensors|chat_template] [seconds=60]
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
TARGET=${1:-safetensors}
SECONDS_TO_RUN=${2:-60}
OUT=build-fuzz
mkdir -p "$OUT/corpus-$TARGET"
command -v clang++ >/dev/null || { apt-get install -y -qq clang >/dev/null; }
FLAGS=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Isrc)
COMMON=(src/automodel/common/error.cpp src/automodel/common/string_util.cpp)
case "$TARGET" in
  safetensors)
    clang++ "${FLAGS[@]}" tests/fuzz/safetensors_fuzz.cpp src/automodel/hf/safetensors_header.cpp src/automodel/hf/dtype.cpp \
      "${COMMON[@]}" -lfmt -o "$OUT/safetensors_fuzz"
    cp tests/fixtures/safetensors/*.safetensors "$OUT/corpus-$TARGET/"
    MAX_LEN=4096 ;;
  chat_template)
    clang++ "${FLAGS[@]}" tests/fuzz/chat_template_fuzz.cpp src/automodel/tokenizer/jinja/*.cpp src/automodel/tokenizer/unicode.cpp \
      "${COMMON[@]}" -lfmt -lutf8proc -o "$OUT/chat_template_fuzz"
    cp tests/fixtures/chat_templates/templates/*.jinja "$OUT/corpus-$TARGET/"
    MAX_LEN=16384 ;;
  *) echo "unknown target $TARGET (safetensors | chat_template)"; exit 2 ;;
esac
"$OUT/${TARGET}_fuzz" -max_total_time="$SECONDS_TO_RUN" -max_len="$MAX_LEN" -rss_limit_mb=4096 "$OUT/corpus-$TARGET"
