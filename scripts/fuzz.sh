#!/usr/bin/env bash
# Builds libFuzzer targets with clang (ASan + UBSan) into build-fuzz/ and runs them.
# Usage: scripts/fuzz.sh TARGET [seconds=60]   build one target and fuzz it
#        scripts/fuzz.sh smoke [seconds=10]    build every target, run each for `seconds` (CI)
#        scripts/fuzz.sh build [TARGET...]     build only (default: every target)
# Targets: safetensors chat_template recipe model_config tokenizer tokenizer_config dataset adapter_config
# Objects are shared between targets and rebuilt by ninja only when a source or header changes
# (through ccache when present), so repeated smoke runs cost only the fuzzing time.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
OUT=build-fuzz
TARGETS=(safetensors chat_template recipe model_config tokenizer tokenizer_config dataset adapter_config)

S=src/automodel
COMMON="$S/common/error.cpp $S/common/string_util.cpp $S/common/json_parse.cpp $S/common/atomic_file.cpp $S/common/logging.cpp"
HF="$S/hf/dtype.cpp $S/hf/json_fields.cpp $S/hf/model_config.cpp $S/hf/rope_config.cpp"
JINJA="$(ls $S/tokenizer/jinja/*.cpp | tr '\n' ' ') $S/tokenizer/unicode.cpp $S/tokenizer/unicode_properties.cpp"
TOKENIZER="$(ls $S/tokenizer/*.cpp $S/tokenizer/jinja/*.cpp | tr '\n' ' ')"
CONFIG="$(ls $S/config/*.cpp | tr '\n' ' ')"
DATA="$S/data/rows.cpp $S/data/formats.cpp $S/data/split_files.cpp $S/data/arrow_rows_missing.cpp"

# One source list per target (besides tests/fuzz/<target>_fuzz.cpp), a max input length and seeds.
sources() {
  case "$1" in
    safetensors) echo "$S/hf/safetensors_header.cpp $S/hf/dtype.cpp $COMMON" ;;
    chat_template) echo "$JINJA $COMMON" ;;
    recipe) echo "$CONFIG $S/hf/json_fields.cpp $S/hf/dtype.cpp $S/tokenizer/unicode.cpp $S/tokenizer/unicode_properties.cpp $COMMON" ;;
    model_config) echo "$HF $COMMON" ;;
    tokenizer | tokenizer_config) echo "$TOKENIZER $COMMON" ;;
    dataset) echo "$DATA $CONFIG $TOKENIZER $HF $COMMON" ;;
    adapter_config) echo "$S/hf/adapter_config.cpp $S/hf/json_fields.cpp $COMMON" ;;
    *) echo "unknown target $1 (${TARGETS[*]})" >&2; return 2 ;;
  esac
}
max_len() {
  case "$1" in
    safetensors) echo 4096 ;;
    chat_template | recipe | dataset) echo 16384 ;;
    tokenizer) echo 65536 ;;
    *) echo 8192 ;;
  esac
}

# Small seeds from the fixtures: the real tokenizers are megabytes (one exec a second), so their
# vocabularies and merges are cut to a few dozen entries keeping every other section.
seed() {
  local t=$1 dir=$2
  [[ -n "$(ls -A "$dir" 2>/dev/null)" ]] && return 0
  mkdir -p "$dir"
  case "$t" in
    safetensors) cp tests/fixtures/safetensors/*.safetensors "$dir/" ;;
    chat_template) cp tests/fixtures/chat_templates/templates/*.jinja "$dir/" ;;
    recipe) for f in tests/fixtures/automodel_recipes/*.yaml recipes/*/*.yaml recipes/*/*/*.yaml; do cp "$f" "$dir/$(echo "$f" | tr / _)"; done ;;
    model_config)
      for d in tests/fixtures/hf/*/; do cp "$d/config.json" "$dir/$(basename "$d").json"; done
      cp tests/fixtures/stories260K/config.json "$dir/stories260K.json" ;;
    tokenizer_config)
      for f in tests/fixtures/tokenizers/*/tokenizer_config.json tests/fixtures/stories260K/tokenizer_config.json; do
        cp "$f" "$dir/$(basename "$(dirname "$f")").json"
      done ;;
    tokenizer)
      cp tests/fixtures/stories260K/tokenizer.json "$dir/stories260K.json"
      python3 - "$dir" tests/fixtures/tokenizers/*/tokenizer.json.gz <<'EOF'
import gzip, json, os, sys
out = sys.argv[1]
for path in sys.argv[2:]:
    spec = json.load(gzip.open(path))
    model = spec.get("model", {})
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        keep = dict(sorted(vocab.items(), key=lambda kv: kv[1])[:60])
        model["vocab"] = keep
        merges = []
        for m in model.get("merges", []):
            parts = m.split(" ") if isinstance(m, str) else m
            if len(parts) == 2 and parts[0] in keep and parts[1] in keep and "".join(parts) in keep:
                merges.append(m)
        model["merges"] = merges[:40]
    elif isinstance(vocab, list):
        model["vocab"] = vocab[:60]
    spec["added_tokens"] = [t for t in spec.get("added_tokens", []) if t.get("id", 0) < 60][:8]
    name = os.path.basename(os.path.dirname(path))
    json.dump(spec, open(os.path.join(out, name + ".json"), "w"), ensure_ascii=False)
EOF
      ;;
    dataset)
      # First byte: file format (0 JSON Lines, 1 JSON, 2 CSV) + 3 x dataset class (see dataset_fuzz.cpp).
      local n=0
      for src in tests/fixtures/datasets/gsm8k/test.jsonl.gz tests/fixtures/datasets/oasst/en_100_tree.jsonl.gz; do
        for k in 0 1 2 3 4 5 6 7; do
          { printf "\\$(printf %03o $((3 * k)))"; zcat "$src" | head -c 3000 | head -n 3 || true; } > "$dir/seed-$n"; n=$((n + 1))
        done
      done
      for k in 0 1 2 3 4 5 6 7; do
        { printf "\\$(printf %03o $((3 * k)))"; head -n 4 tests/fixtures/datasets/parquet/mixed.jsonl; } > "$dir/seed-$n"; n=$((n + 1))
        { printf "\\$(printf %03o $((3 * k + 1)))"; echo '[{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}, {"context": "c", "question": "q", "answer": "a", "answers": {"text": ["a"]}, "ctx": "x", "endings": ["e", "f"], "label": "1", "text": "t"}]'; } > "$dir/seed-$n"; n=$((n + 1))
        { printf "\\$(printf %03o $((3 * k + 2)))"; printf 'context,question,answer,text\n"a, b",q,"say ""x""",hello\n'; } > "$dir/seed-$n"; n=$((n + 1))
      done ;;
    adapter_config)
      printf '{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 8, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": ["q_proj", "v_proj"], "use_rslora": false, "use_dora": false, "base_model_name_or_path": "x", "rank_pattern": {}, "alpha_pattern": {}}' > "$dir/peft.json"
      printf '{"r": 16, "lora_alpha": 16.0, "use_rslora": true, "target_modules": ".*proj"}' > "$dir/rslora.json" ;;
  esac
}

# build-fuzz/build.ninja: one object per source (shared by the targets), one link per target.
write_ninja() {
  local launcher="" t src
  command -v ccache >/dev/null && launcher="env CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=1 ccache"
  {
    echo "flags = -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I$ROOT/src -DAUTOMODEL_SOURCE_DIR=\\\"$ROOT\\\""
    echo "rule cxx"
    echo "  command = $launcher clang++ \$flags -MMD -MF \$out.d -c \$in -o \$out"
    echo "  depfile = \$out.d"
    echo "  deps = gcc"
    echo "  description = CXX \$in"
    echo "rule link"
    echo "  command = clang++ -fsanitize=fuzzer,address,undefined \$in -o \$out -lfmt -lyaml-cpp -lpcre2-8 -lutf8proc -lz"
    echo "  description = LINK \$out"
    declare -A seen=()
    for t in "${TARGETS[@]}"; do
      local objs=""
      declare -A mine=()
      for src in tests/fuzz/${t}_fuzz.cpp $(sources "$t"); do
        [[ -n "${mine[$src]:-}" ]] && continue  # lists overlap (dataset = data + config + ...)
        mine[$src]=1
        objs+=" obj/${src%.cpp}.o"
        if [[ -z "${seen[$src]:-}" ]]; then
          seen[$src]=1
          echo "build obj/${src%.cpp}.o: cxx $ROOT/$src"
        fi
      done
      echo "build ${t}_fuzz: link$objs"
    done
  } > "$OUT/build.ninja.tmp"
  # Rewrite only on change, so ninja's own state stays valid between runs.
  cmp -s "$OUT/build.ninja.tmp" "$OUT/build.ninja" 2>/dev/null && rm "$OUT/build.ninja.tmp" || mv "$OUT/build.ninja.tmp" "$OUT/build.ninja"
}

build() {
  command -v clang++ >/dev/null || { apt-get install -y -qq clang >/dev/null; }
  mkdir -p "$OUT"
  write_ninja
  local names=()
  for t in "$@"; do names+=("${t}_fuzz"); done
  ninja -C "$OUT" -j "${JOBS:-$(nproc)}" "${names[@]}"
}

# Runs one target; libFuzzer's last status line (execs, cov, ft, corpus) is what the docs record.
run() {
  local t=$1 secs=$2
  shift 2
  seed "$t" "$OUT/corpus-$t"
  "$OUT/${t}_fuzz" -max_total_time="$secs" -max_len="$(max_len "$t")" -rss_limit_mb=4096 -timeout=10 \
    -artifact_prefix="$OUT/${t}-" -print_final_stats=1 "$@" "$OUT/corpus-$t"
}

MODE=${1:-safetensors}
case "$MODE" in
  build)
    shift
    build "${@:-${TARGETS[@]}}" ;;
  smoke)
    secs=${2:-10}
    build "${TARGETS[@]}"
    for t in "${TARGETS[@]}"; do
      echo "== fuzz smoke: $t (${secs}s)"
      # A fresh copy of the seeds: the smoke test checks the code, not a corpus grown elsewhere.
      rm -rf "$OUT/smoke-corpus-$t"
      seed "$t" "$OUT/smoke-corpus-$t"
      # A fixed seed: the same code meets the same inputs on every CI run (campaigns find new ones).
      if "$OUT/${t}_fuzz" -seed=1 -max_total_time="$secs" -max_len="$(max_len "$t")" -rss_limit_mb=4096 -timeout=10 \
        -artifact_prefix="$OUT/${t}-" "$OUT/smoke-corpus-$t" > "$OUT/smoke-$t.log" 2>&1; then
        grep -E '^#[0-9]+' "$OUT/smoke-$t.log" | tail -n 1 || true
      else
        tail -n 60 "$OUT/smoke-$t.log"; echo "fuzz smoke: $t failed (log: $OUT/smoke-$t.log)"; exit 1
      fi
    done ;;
  *)
    sources "$MODE" >/dev/null
    build "$MODE"
    run "$MODE" "${2:-60}" "${@:3}" ;;
esac
