#!/usr/bin/env python3
"""The wandb package as the oracle for our offline W&B runs (tests/oracle/tracker_oracle_test.cpp).

    wandb_runs.py RUN_DIR        one offline-run-* folder
    wandb_runs.py frames FILE    a bare transaction log: the payload of every record

RUN_DIR: scans run-<id>.wandb with wandb's own transaction-log reader (DataStore: header, block
framing, CRC of every chunk), parses each record as wandb_internal_pb2.Record, and prints JSON
{records, run, history {step: {key: value}}, summary, exit, view_records}. view_records counts the
records `wandb sync --legacy --view --verbose RUN_DIR` printed: the sync command's own pass over
the file (it parses and prints without uploading; a placeholder key and an unreachable server let
it start). frames: [[length, crc32], ...] of each record, for framing tests.
"""
import glob
import json
import os
import subprocess
import sys
import zlib

from wandb.proto import wandb_internal_pb2
from wandb.sdk.internal import datastore


def payloads(path):
    ds = datastore.DataStore()
    ds.open_for_scan(path)
    while True:
        data = ds.scan_data()
        if data is None:
            return
        yield data


def items(entries):
    out = {}
    for e in entries:
        key = ".".join(e.nested_key) if len(e.nested_key) else e.key
        out[key] = json.loads(e.value_json)
    return out


def read_run(run_dir):
    files = glob.glob(os.path.join(run_dir, "run-*.wandb"))
    assert len(files) == 1, f"expected one run-*.wandb in {run_dir}, found {files}"
    out = {"records": [], "history": {}, "summary": {}, "exit": None, "run": None, "header": None}
    for num, data in enumerate(payloads(files[0]), start=1):
        rec = wandb_internal_pb2.Record()
        rec.ParseFromString(data)
        kind = rec.WhichOneof("record_type")
        assert rec.num == num, f"record {num} is numbered {rec.num}"
        out["records"].append(kind)
        if kind == "header":
            out["header"] = rec.header.version_info.producer
        elif kind == "run":
            r = rec.run
            out["run"] = {
                "run_id": r.run_id, "entity": r.entity, "project": r.project, "display_name": r.display_name,
                "run_group": r.run_group, "job_type": r.job_type, "notes": r.notes, "tags": list(r.tags),
                "host": r.host, "start_time": r.start_time.seconds + r.start_time.nanos / 1e9,
                "config": items(r.config.update),
            }
        elif kind == "history":
            row = items(rec.history.item)
            assert row["_step"] == rec.history.step.num, f"_step {row['_step']} in a row of step {rec.history.step.num}"
            assert str(rec.history.step.num) not in out["history"], f"step {rec.history.step.num} twice"
            out["history"][str(rec.history.step.num)] = row
        elif kind == "summary":
            out["summary"].update(items(rec.summary.update))
        elif kind == "exit":
            out["exit"] = {"exit_code": rec.exit.exit_code, "runtime": rec.exit.runtime}
    env = dict(os.environ, WANDB_API_KEY="x" * 40, WANDB_BASE_URL="http://127.0.0.1:9", WANDB_SILENT="true")
    view = subprocess.run([sys.executable, "-m", "wandb", "sync", "--legacy", "--view", "--verbose", run_dir],
                          env=env, capture_output=True, text=True, timeout=120)
    assert view.returncode == 0, view.stdout + view.stderr
    out["view_records"] = view.stdout.count("Record: ")
    return out


def main():
    if sys.argv[1] == "frames":
        json.dump([[len(d), zlib.crc32(d)] for d in payloads(sys.argv[2])], sys.stdout)
    else:
        json.dump(read_run(sys.argv[1]), sys.stdout)


if __name__ == "__main__":
    main()
