#!/usr/bin/env bash
# Encode throughput on ~3.9 MB of real text (GSM8K train questions + answers) with the GPT-2,
# Llama-3 and Qwen3 tokenizers: AutoModel.cpp next to the official HF tokenizers library (npm
# tokenizers@0.23.2, encodeBatch, RAYON_NUM_THREADS = same thread count), in the same run.
# Targets: >= 2x HF on 1 thread; >= 1.7x scaling from 1 to 2 threads.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ORACLE=$PWD/build/oracles/node_modules
gzip -dc tests/fixtures/datasets/gsm8k/train.jsonl.gz |
  python3 -c 'import json,sys; [print(json.dumps(json.loads(l)["question"] + "\n" + json.loads(l)["answer"])) for l in sys.stdin]' \
  > "$TMP/texts.jsonl"
MB=$(python3 -c "import json; print(sum(len(json.loads(l).encode()) for l in open('$TMP/texts.jsonl'))/1e6)")
for name in gpt2 llama3 qwen3; do
  gzip -dc "tests/fixtures/tokenizers/$name/tokenizer.json.gz" > "$TMP/$name.json"
  echo "== $name"
  build/bench/tokenizer_bench "$TMP/$name.json" "$TMP/texts.jsonl" 1 2
  if [ -d "$ORACLE/tokenizers" ] && command -v node >/dev/null; then
    for threads in 1 2; do
      secs=$(RAYON_NUM_THREADS=$threads node tests/oracles/hf_tokenizers_encode.js "$ORACLE" "$TMP/$name.json" \
             "$TMP/texts.jsonl" "$TMP/out.jsonl" --time | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
      python3 -c "print(f'hf-tokenizers threads=$threads {$MB/$secs:.2f} MB/s (npm tokenizers@0.23.2 encodeBatch)')"
    done
  else
    echo "hf-tokenizers (skipped: npm tokenizers not installed in $ORACLE)"
  fi
done
