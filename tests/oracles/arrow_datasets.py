#!/usr/bin/env python3
"""Parquet and Arrow files written by HF `datasets` and `pyarrow`, with the rows they hold as JSON
Lines: the oracle for our Arrow readers (tests/oracle/arrow_datasets_test.cpp,
tests/unit/data/arrow_rows_test.cpp, tests/integration/parquet_finetune_test.cpp).

    arrow_datasets.py cases OUT      every layout and type below, plus <name>.jsonl expectations
    arrow_datasets.py fixture OUT    the small committed fixture (tests/fixtures/datasets/parquet)
    arrow_datasets.py convert IN.jsonl[.gz] OUT.parquet|OUT_DIR/ [SPLIT]   a JSONL file as Parquet

Rows as JSON: what pyarrow's to_pylist() gives, with bytes as base64 strings (RFC 4648, padded),
the form our reader gives binary columns.
"""
import base64
import datetime
import decimal
import gzip
import json
import os
import random
import sys
from pathlib import Path

os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import pyarrow as pa
import pyarrow.ipc
import pyarrow.parquet as pq


def jsonable(value):
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def write_jsonl(rows, path):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(jsonable(row), ensure_ascii=False) + "\n")


def png(seed):
    """A small real PNG (bytes with zeros and high bits), as `datasets` Image features store."""
    from PIL import Image
    import io

    rng = random.Random(seed)
    img = Image.new("RGB", (3, 2))
    img.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(6)])
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def chat_rows(n, seed=0):
    """Rows of every common dataset shape: chat messages, instruction columns, image bytes, nulls."""
    rng = random.Random(seed)
    words = ["Lily", "has", "3", "cats.", "naïve", "日本語", "emoji 🙂", "", "quote \" and \\ slash", "new\nline"]
    rows = []
    for i in range(n):
        turns = rng.randrange(0, 4)
        rows.append({
            "id": i,
            "question": " ".join(rng.choice(words) for _ in range(rng.randrange(1, 6))) if i % 7 != 3 else None,
            "answer": f"#### {rng.randrange(1000)}",
            "messages": [{"role": ["user", "assistant"][t % 2],
                          "content": rng.choice(words) if (i + t) % 5 != 4 else None} for t in range(turns)],
            "tags": [rng.choice(words) for _ in range(rng.randrange(3))] if i % 6 != 5 else None,
            "score": float(rng.randrange(-100, 100)) / 8 if i % 4 != 1 else None,
            "flag": [True, False, None][i % 3],
            "image": {"bytes": png(i), "path": f"img_{i}.png" if i % 2 else None} if i % 5 != 2 else None,
        })
    return rows


def pyarrow_table(n, seed=1):
    """Arrow types beyond what `datasets` features name: dictionaries, narrow/unsigned ints, float32,
    large strings, nested lists and structs, a null column, fixed-size binary."""
    rng = random.Random(seed)
    base = chat_rows(n, seed)
    columns = {
        "id": pa.array([r["id"] for r in base], pa.int64()),
        "small": pa.array([rng.randrange(-128, 128) for _ in base], pa.int8()),
        "big": pa.array([2**63 + rng.randrange(1000) for _ in base], pa.uint64()),
        "ratio": pa.array([rng.randrange(1000) / 7 if i % 9 else None for i in range(n)], pa.float32()),
        "category": pa.array([rng.choice(["math", "code", "chat", None]) for _ in base]).dictionary_encode(),
        "question": pa.array([r["question"] for r in base], pa.large_string()),
        "messages": pa.array([r["messages"] for r in base],
                             pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        "matrix": pa.array([[[rng.random() for _ in range(2)] for _ in range(rng.randrange(3))] for _ in base],
                           pa.list_(pa.list_(pa.float64()))),
        "meta": pa.array([{"source": rng.choice(["a", "b"]), "turns": rng.randrange(5), "extra": None} for _ in base],
                         pa.struct([("source", pa.string()), ("turns", pa.int32()), ("extra", pa.string())])),
        "nothing": pa.nulls(n),
        "digest": pa.array([bytes(rng.randrange(256) for _ in range(4)) for _ in base], pa.binary(4)),
        "image": pa.array([r["image"] for r in base], pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    }
    return pa.table(columns)


def expected(table):
    """The rows as JSON (dictionary columns decode to their values in to_pylist)."""
    return table.to_pylist()


def write_cases(out):
    import datasets

    out.mkdir(parents=True, exist_ok=True)
    # 1. `datasets`: Dataset.from_list(...).to_parquet, save_to_disk (Dataset and DatasetDict), the
    #    hub's sharded layout (data/train-0000i-of-00002.parquet), an Image feature stored as bytes.
    features = datasets.Features({
        "id": datasets.Value("int64"), "question": datasets.Value("string"), "answer": datasets.Value("string"),
        "messages": datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string")}),
        "tags": datasets.List(datasets.Value("string")), "score": datasets.Value("float32"),
        "flag": datasets.Value("bool"), "image": datasets.Image(),
    })
    ds = datasets.Dataset.from_list(chat_rows(40), features=features)
    table = ds.with_format("arrow")[:]
    write_jsonl(expected(table), out / "datasets.jsonl")
    write_jsonl(expected(table.slice(0, 3)), out / "datasets_test.jsonl")
    ds.to_parquet(str(out / "datasets.parquet"))
    ds.save_to_disk(str(out / "saved"), num_shards=2)
    datasets.DatasetDict({"train": ds, "test": ds.select(range(3))}).save_to_disk(str(out / "dict"))
    for i in range(2):
        (out / "hub" / "data").mkdir(parents=True, exist_ok=True)
        ds.shard(2, i, contiguous=True).to_parquet(str(out / "hub" / "data" / f"train-{i:05d}-of-00002.parquet"))
    # The datasets cache's names: <builder>-<split>-NNNNN-of-NNNNN.arrow (IPC streams).
    (out / "cache").mkdir(exist_ok=True)
    for i in range(2):
        part = table.slice(i * 20, 20)
        with pa.ipc.new_stream(str(out / "cache" / f"json-train-{i:05d}-of-00002.arrow"), part.schema) as w:
            w.write_table(part, max_chunksize=7)

    # 2. pyarrow: several row groups, dictionary-encoded strings, every codec, IPC file and stream.
    table = pyarrow_table(50)
    write_jsonl(expected(table), out / "pyarrow.jsonl")
    for codec in ["zstd", "snappy", "gzip", "none"]:
        pq.write_table(table, str(out / f"pyarrow_{codec}.parquet"), row_group_size=7, use_dictionary=True,
                       compression=codec, data_page_size=256)
    pq.write_table(table, str(out / "pyarrow_v1.parquet"), row_group_size=16, version="1.0",
                   use_dictionary=["question"], write_statistics=False)
    with pa.ipc.new_file(str(out / "pyarrow_file.arrow"), table.schema) as w:
        w.write_table(table, max_chunksize=9)
    with pa.ipc.new_stream(str(out / "pyarrow_stream.arrow"), table.schema) as w:
        w.write_table(table, max_chunksize=9)

    # 3. Many rows: batch and row-group boundaries, and reading stopped by a limit.
    n = 10000
    big = pa.table({"i": pa.array(range(n), pa.int64()), "text": pa.array([f"row {i}" for i in range(n)])})
    write_jsonl(expected(big), out / "big.jsonl")
    pq.write_table(big, str(out / "big.parquet"), row_group_size=3000)


def write_fixture(out):
    """The committed fixture: one small Parquet file of every common shape (two row groups), its rows,
    one image's bytes, a save_to_disk folder, and a file with a column type we do not read."""
    import datasets

    out.mkdir(parents=True, exist_ok=True)
    table = pyarrow_table(6, seed=7).append_column(
        "when", pa.array([datetime.datetime(2024, 3, 1, 12, 0, 0, 250000 * (i % 2)) for i in range(6)],
                         pa.timestamp("us", tz="UTC"))).append_column(
        "day", pa.array([datetime.date(1969 + i, 12, 31) for i in range(6)], pa.date32())).append_column(
        "price", pa.array([decimal.Decimal(f"{i}.{i}5") for i in range(6)], pa.decimal128(6, 2)))
    pq.write_table(table, str(out / "mixed.parquet"), row_group_size=4, compression="zstd")
    rows = expected(table)
    for row in rows:  # our text forms of the temporal and decimal columns
        row["when"] = row["when"].strftime("%Y-%m-%dT%H:%M:%S") + (
            f".{row['when'].microsecond:06d}" if row["when"].microsecond else "") + "Z"
        row["day"] = row["day"].isoformat()
        row["price"] = str(row["price"])
    write_jsonl(rows, out / "mixed.jsonl")
    (out / "image_0.png").write_bytes(table.column("image")[0]["bytes"].as_py())
    ds = datasets.Dataset.from_list(chat_rows(5, seed=3))
    write_jsonl(expected(ds.with_format("arrow")[:]), out / "saved.jsonl")
    ds.save_to_disk(str(out / "saved"))
    pq.write_table(pa.table({"id": [1, 2], "at": pa.array([1, 2], pa.time64("us"))}), str(out / "time_column.parquet"))


def convert(src, dst, split="train"):
    """A JSONL file as Parquet: a file, or the hub's data/<split>-0000i-of-00002.parquet shards when
    dst is a folder (ends with /)."""
    opener = gzip.open if src.endswith(".gz") else open
    with opener(src, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    table = pa.Table.from_pylist(rows)
    if dst.endswith("/"):
        half = (len(rows) + 1) // 2
        Path(dst, "data").mkdir(parents=True, exist_ok=True)
        for i in range(2):
            pq.write_table(table.slice(i * half, half), f"{dst}data/{split}-{i:05d}-of-00002.parquet", row_group_size=500)
    else:
        pq.write_table(table, dst, row_group_size=500)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "cases":
        write_cases(Path(sys.argv[2]))
    elif mode == "fixture":
        write_fixture(Path(sys.argv[2]))
    elif mode == "convert":
        convert(*sys.argv[2:5])
    else:
        sys.exit(f"unknown mode {mode}")
