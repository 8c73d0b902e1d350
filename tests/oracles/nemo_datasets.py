#!/usr/bin/env python3
"""NeMo AutoModel's own dataset classes as the oracle for ours (tests/oracle/nemo_datasets_test.cpp).

    nemo_datasets.py WORKDIR [CASE ...]

Writes into WORKDIR the inputs both sides read (tokenizer folders unpacked from
tests/fixtures/tokenizers, an OpenAI-messages file made from the OASST trees, a SQuAD-shaped
folder made from GSM8K) and WORKDIR/cases.json: for every case, the recipe's dataset section
(the same one our parser reads), the tokenizer folder, and what NeMo's class built from it:
each sample's input_ids and labels (NeMo's shifted layout), or the error it raised. For the
packing case, NeMo's pack_dataset() rows (unpadded part) over its own samples. With CASE
names, only those cases are built.
"""
import gzip
import importlib
import json
import logging
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
PACK_SIZE = 256

logging.disable(logging.WARNING)  # NeMo warns about pad tokens on every load


def unpack_tokenizer(name, out):
    """A loadable tokenizer folder: tokenizer.json (gunzipped) + tokenizer_config.json."""
    src = FIXTURES / "tokenizers" / name
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(src / "tokenizer.json.gz", "rb") as f:
        (out / "tokenizer.json").write_bytes(f.read())
    shutil.copy(src / "tokenizer_config.json", out / "tokenizer_config.json")
    return out


def oasst_messages(out, limit=12, max_turns=4):
    """OpenAI messages from the OASST trees: the prompt, then the best-ranked reply, and so on."""
    rows = []
    with gzip.open(FIXTURES / "datasets" / "oasst" / "en_100_tree.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            node = json.loads(line)["prompt"]
            messages = []
            while node is not None and len(messages) < max_turns:
                messages.append({"role": "user" if node["role"] == "prompter" else "assistant", "content": node["text"]})
                replies = sorted(node.get("replies", []), key=lambda r: (r.get("rank") is None, r.get("rank") or 0))
                node = replies[0] if replies else None
            if messages[-1]["role"] == "user":
                messages.pop()
            if len(messages) >= 2:
                rows.append({"messages": messages})
            if len(rows) == limit:
                break
    with open(out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return out


def squad_folder(out, limit=12):
    """SQuAD-shaped rows (context, question, answers.text) from GSM8K, as train.jsonl in a folder."""
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(FIXTURES / "datasets" / "gsm8k" / "train.jsonl.gz", "rt", encoding="utf-8") as f, open(
        out / "train.jsonl", "w", encoding="utf-8"
    ) as w:
        for i, line in enumerate(f):
            if i == limit:
                break
            row = json.loads(line)
            final = row["answer"].split("####")[-1].strip()
            w.write(json.dumps({
                "id": str(i),
                "title": "gsm8k",
                "context": row["question"],
                "question": "What is the final answer?",
                "answer": final,  # flat copy for the column-mapped case with a context column
                "answers": {"text": [final], "answer_start": [-1]},
            }) + "\n")
    return out


def build_nemo_dataset(section, tokenizer):
    """Instantiate section['_target_'] as NeMo's config would, with the tokenizer."""
    module, _, name = section["_target_"].rpartition(".")
    target = getattr(importlib.import_module(module), name)
    kwargs = {k: v for k, v in section.items() if k != "_target_"}
    return target(tokenizer=tokenizer, **kwargs)


def nemo_samples(section, tokenizer_dir):
    from nemo_automodel._transformers.auto_tokenizer import NeMoAutoTokenizer

    tokenizer = NeMoAutoTokenizer.from_pretrained(str(tokenizer_dir))  # as train_ft's _build_tokenizer
    dataset = build_nemo_dataset(section, tokenizer)
    samples = []
    for i in range(len(dataset)):
        if hasattr(dataset, "column_mapping") and hasattr(dataset, "_apply_tokenizer"):
            # Row i itself: NeMo's __getitem__ would return the next row instead when truncation
            # leaves row i without a label (the test expects ours to skip exactly those).
            row = dataset.dataset[i]
            s = dataset._apply_tokenizer({dest: row[src] for dest, src in dataset.column_mapping.items() if src in row})
        else:
            s = dataset[i]
        samples.append({"input_ids": list(map(int, s["input_ids"])), "labels": list(map(int, s["labels"]))})
    return samples


def nemo_packs(samples, size):
    from nemo_automodel.components.datasets.llm.packed_sequence import pack_dataset

    packed = pack_dataset([dict(s) for s in samples], split="train", packed_sequence_size=size, padding_idx=0)
    rows = []
    for row in packed:
        n = int(sum(row["seq_lens"]))
        rows.append({
            "input_ids": list(map(int, row["input_ids"][:n])),
            "labels": list(map(int, row["labels"][:n])),
            "position_ids": list(map(int, row["position_ids"][:n])),
            "seq_lens": list(map(int, row["seq_lens"])),
            "padded_length": len(row["input_ids"]),
        })
    return rows


COLUMN_MAPPED = "nemo_automodel.components.datasets.llm.column_mapped_text_instruction_dataset.ColumnMappedTextInstructionDataset"
CHAT = "nemo_automodel.components.datasets.llm.chat_dataset.ChatDataset"
SQUAD = "nemo_automodel.components.datasets.llm.squad.make_squad_dataset"
GSM8K = str(FIXTURES / "datasets" / "gsm8k" / "train.jsonl.gz")
QA = {"question": "question", "answer": "answer"}

# name -> (tokenizer, dataset section as a recipe writes it; "{messages}", "{single_turn}" and
# "{squad}" are files this script makes in WORKDIR).
CASES = {
    "column_mapped_stories260K": ("stories260K", {
        "_target_": COLUMN_MAPPED, "path_or_dataset_id": GSM8K, "column_mapping": QA, "limit_dataset_samples": 16}),
    "column_mapped_mistral7b": ("mistral7b_v0.1", {
        "_target_": COLUMN_MAPPED, "path_or_dataset_id": GSM8K, "column_mapping": QA, "limit_dataset_samples": 16}),
    "column_mapped_full_loss_stories260K": ("stories260K", {
        "_target_": COLUMN_MAPPED, "path_or_dataset_id": GSM8K, "column_mapping": QA, "limit_dataset_samples": 8,
        "answer_only_loss_mask": False}),
    "column_mapped_context_stories260K": ("stories260K", {
        "_target_": COLUMN_MAPPED, "path_or_dataset_id": "{squad}/train.jsonl",
        "column_mapping": {"context": "context", "question": "question", "answer": "answer"},
        "limit_dataset_samples": 8}),
    # A tokenizer with a chat template: NeMo formats column-mapped rows with it only when
    # use_hf_chat_template is set (default False).
    "column_mapped_llama3_1": ("llama3_1", {
        "_target_": COLUMN_MAPPED, "path_or_dataset_id": GSM8K, "column_mapping": QA, "limit_dataset_samples": 8}),
    # AutoModel's truncation (HF tokenizers' right truncation to seq_length): rows cut inside the
    # answer, and rows cut inside the prompt (no label left: ours skips them).
    "column_mapped_truncated_stories260K": ("stories260K", {
        "_target_": COLUMN_MAPPED, "path_or_dataset_id": GSM8K, "column_mapping": QA, "limit_dataset_samples": 16,
        "seq_length": 96, "truncation": True}),
    "column_mapped_truncated_llama3_1": ("llama3_1", {
        "_target_": COLUMN_MAPPED, "path_or_dataset_id": GSM8K, "column_mapping": QA, "limit_dataset_samples": 16,
        "seq_length": 80, "truncation": "longest_first"}),
    "column_mapped_hf_template_llama3_1": ("llama3_1", {
        "_target_": COLUMN_MAPPED, "path_or_dataset_id": GSM8K, "column_mapping": QA, "limit_dataset_samples": 8,
        "use_hf_chat_template": True}),
    "column_mapped_hf_template_truncated_qwen3": ("qwen3", {
        "_target_": COLUMN_MAPPED, "path_or_dataset_id": "{squad}/train.jsonl",
        "column_mapping": {"context": "context", "question": "question", "answer": "answer"},
        "limit_dataset_samples": 8, "use_hf_chat_template": True, "seq_length": 64, "truncation": True}),
    "chat_truncated_llama3_1": ("llama3_1", {
        "_target_": CHAT, "path_or_dataset_id": "{messages}", "seq_length": 160, "truncation": True}),
    "squad_truncated_stories260K": ("stories260K", {
        "_target_": SQUAD, "dataset_name": "{squad}", "split": "train", "limit_dataset_samples": 8,
        "seq_length": 112, "truncation": True}),
    "chat_llama3_1": ("llama3_1", {"_target_": CHAT, "path_or_dataset_id": "{messages}"}),
    "chat_phi3_mini": ("phi3_mini", {"_target_": CHAT, "path_or_dataset_id": "{messages}"}),
    "chat_qwen3_single_turn": ("qwen3", {"_target_": CHAT, "path_or_dataset_id": "{single_turn}"}),
    "squad_stories260K": ("stories260K", {
        "_target_": SQUAD, "dataset_name": "{squad}", "split": "train", "limit_dataset_samples": 8}),
    "squad_llama3_1": ("llama3_1", {
        "_target_": SQUAD, "dataset_name": "{squad}", "split": "train", "limit_dataset_samples": 8}),
}
PACKING = {"packing_stories260K": "column_mapped_stories260K"}  # NeMo's packing of that case's samples


def main():
    work = Path(sys.argv[1]).resolve()
    work.mkdir(parents=True, exist_ok=True)
    names = sys.argv[2:] or list(CASES) + list(PACKING)
    unknown = [n for n in names if n not in CASES and n not in PACKING]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; known: {list(CASES) + list(PACKING)}")

    files = {}

    def path(key):
        if key not in files:
            if key == "messages":
                files[key] = str(oasst_messages(work / "oasst_messages.jsonl"))
            elif key == "single_turn":
                files[key] = str(work / "oasst_single_turn.jsonl")
                with open(path("messages"), encoding="utf-8") as f, open(files[key], "w", encoding="utf-8") as w:
                    for line in f:
                        w.write(json.dumps({"messages": json.loads(line)["messages"][:2]}) + "\n")
            elif key == "squad":
                files[key] = str(squad_folder(work / "squad"))
        return files[key]

    def tokenizer(name):
        if name == "stories260K":
            return FIXTURES / "stories260K"
        out = work / f"tok_{name}"
        return out if (out / "tokenizer.json").exists() else unpack_tokenizer(name, out)

    def build(name):
        tok, section = CASES[name]
        section = {k: (v.format(**{key: path(key) for key in ("messages", "single_turn", "squad") if "{" + key + "}" in v})
                       if isinstance(v, str) else v) for k, v in section.items()}
        case = {"name": name, "tokenizer": str(tokenizer(tok)), "dataset": section}
        try:
            case["samples"] = nemo_samples(section, tokenizer(tok))
        except Exception as e:  # reported by the test: NeMo itself cannot build this case
            case["error"] = f"{type(e).__name__}: {e}"
        return case

    out = []
    for name in names:
        if name in CASES:
            out.append(build(name))
        else:
            source = build(PACKING[name])
            out.append({"name": name, "pack_size": PACK_SIZE, "samples": source["samples"],
                        "packs": nemo_packs(source["samples"], PACK_SIZE)})
    with open(work / "cases.json", "w", encoding="utf-8") as f:
        json.dump({"nemo_automodel": importlib.import_module("nemo_automodel").__version__, "cases": out}, f)


if __name__ == "__main__":
    main()
