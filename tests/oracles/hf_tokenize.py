"""Oracle: encodes a batch of strings with the official Hugging Face libraries.

Two references, so the C++ Tokenizer is checked on both of its entry points:
  raw  - tokenizers.Tokenizer.from_file(tokenizer.json): the bare tokenizer.json pipeline
         (Tokenizer::from_file / from_json);
  sentencepiece - sentencepiece.SentencePieceProcessor(tokenizer.model) (BOS prepended for
         "special"), compared with Tokenizer::from_sentencepiece;
  auto - transformers.AutoTokenizer.from_pretrained(folder): the folder as transformers loads it,
         tokenizer_config.json applied (add_bos_token / add_eos_token, special tokens, the
         tokenizer class's own rules) - compared with load_tokenizer(folder).
Each is asked with add_special_tokens=False ("plain") and True ("special").

Compare mode:  python hf_tokenize.py IN.json OUT.json
  IN:  {"tokenizer_json": path or null, "folder": path or null, "sentencepiece_model": path or null,
        "texts": [str, ...]}
  OUT: {"raw": {"plain": [[id, ...], ...], "special": [...]},         (with a tokenizer_json)
        "auto": {"class": str, "plain": [...], "special": [...]}}   (with a folder)
Benchmark mode:  python hf_tokenize.py --time TOKENIZER_JSON TEXTS.jsonl
  Times Tokenizer.encode_batch (add_special_tokens=False) over the JSONL strings, one JSON
  string a line; prints {"seconds": s, "tokens": n}. Threads follow RAYON_NUM_THREADS.
"""
import json
import sys
import time


def encode_raw(tokenizer_json, texts):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tokenizer_json)
    return {
        "plain": [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)],
        "special": [e.ids for e in tok.encode_batch(texts, add_special_tokens=True)],
    }


def encode_auto(folder, texts):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    return {
        "class": type(tok).__name__,
        "plain": tok(texts, add_special_tokens=False)["input_ids"],
        "special": tok(texts, add_special_tokens=True)["input_ids"],
    }


def encode_sentencepiece(model_file, texts):
    """SentencePiece itself on a tokenizer.model (what Tokenizer::from_sentencepiece converts)."""
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=model_file)
    plain = sp.encode(texts)
    return {"plain": plain, "special": [([sp.bos_id()] if sp.bos_id() >= 0 else []) + ids for ids in plain]}


def compare_mode(in_path, out_path):
    with open(in_path, encoding="utf-8") as f:
        request = json.load(f)
    texts = request["texts"]
    out = {}
    if request.get("tokenizer_json"):
        out["raw"] = encode_raw(request["tokenizer_json"], texts)
    if request.get("folder"):
        out["auto"] = encode_auto(request["folder"], texts)
    if request.get("sentencepiece_model"):
        out["sentencepiece"] = encode_sentencepiece(request["sentencepiece_model"], texts)
    for side in out.values():
        for key in ("plain", "special"):
            if len(side[key]) != len(texts):
                raise SystemExit(f"oracle returned {len(side[key])} encodings for {len(texts)} texts")
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, separators=(",", ":"))


def time_mode(tokenizer_json, texts_path):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tokenizer_json)
    with open(texts_path, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    start = time.perf_counter()
    encodings = tok.encode_batch(texts, add_special_tokens=False)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "tokens": sum(len(e.ids) for e in encodings)}))


def main(argv):
    if len(argv) == 4 and argv[1] == "--time":
        time_mode(argv[2], argv[3])
    elif len(argv) == 3:
        compare_mode(argv[1], argv[2])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
