#!/usr/bin/env bash
# Encode throughput on ~3.9 MB of real text (GSM8K train questions + answers) with the GPT-2,
# Llama-3 and Qwen3 tokenizers: AutoModel.cpp next to the official HF tokenizers library (the
# Python `tokenizers` package in the project's venv, Tokenizer.encode_batch timed by
# tests/oracles/hf_tokenize.py --time, RAYON_NUM_THREADS = same thread count), in the same run.
# Targets: >= 2x HF on 1 thread; >= 1.7x scaling from 1 to 2 threads.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
PY=${AUTOMODEL_PYTHON:-.venv/bin/python3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
gzip -dc tests/fixtures/datasets/gsm8k/train.jsonl.gz |
  "$PY" -c 'import json,sys; [print(json.dumps(json.loads(l)["question"] + "\n" + json.loads(l)["answer"])) for l in sys.stdin]' \
  > "$TMP/texts.jsonl"
MB=$("$PY" -c "import json; print(sum(len(json.loads(l).encode()) for l in open('$TMP/texts.jsonl'))/1e6)")
HF_VERSION=$("$PY" -c 'import tokenizers; print(tokenizers.__version__)' 2>/dev/null || true)
for name in gpt2 llama3 qwen3; do
  gzip -dc "tests/fixtures/tokenizers/$name/tokenizer.json.gz" > "$TMP/$name.json"
  echo "== $name"
  build/bench/tokenizer_bench "$TMP/$name.json" "$TMP/texts.jsonl" 1 2
  if [ -n "$HF_VERSION" ]; then
    for threads in 1 2; do
      secs=$(RAYON_NUM_THREADS=$threads TOKENIZERS_PARALLELISM=true "$PY" tests/oracles/hf_tokenize.py --time \
             "$TMP/$name.json" "$TMP/texts.jsonl" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
      "$PY" -c "print(f'hf-tokenizers threads=$threads {$MB/$secs:.2f} MB/s (Python tokenizers $HF_VERSION encode_batch)')"
    done
  else
    echo "hf-tokenizers (skipped: $PY cannot import tokenizers; scripts/setup.sh installs it)"
  fi
done
