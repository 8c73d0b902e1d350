#!/usr/bin/env python3
"""A loopback stand-in for W&B's server, speaking the HTTP API shape the official client (wandb-core)
and automodel's online mode use (tests/oracle/tracker_oracle_test.cpp):

    fake_wandb.py PORT API_KEY        (0: a free port, printed as "serving PORT")
    fake_wandb.py --client URL KEY    log a run with the official wandb client to URL (the test
                                      that this server understands what W&B's own client sends)

  POST /graphql   Viewer, ServerFeaturesQuery, UpsertBucket (creates/updates a run: name, project,
                  entity, displayName, tags, notes, groupName, jobType, config as a JSONString of
                  {key: {"value": v}}), CreateRunFiles (upload URLs on this server); other
                  operations get empty data
  PUT  /upload/{entity}/{project}/{run}/{file}   the run's uploaded files
  POST /files/{entity}/{project}/{run}/file_stream   {"files": {"wandb-history.jsonl": {"offset":
                  n, "content": [line, ...]}, "wandb-summary.json": {...}}, "complete": bool,
                  "exitcode": int}: history lines by offset, the summary's last line, the exit
  GET  /_runs     every run as {entity/project/run: {upsert, config, history, summary, exitcode,
                  complete, files}}
  POST /_faults   {"file_stream": n}: the next n file_stream requests get 503 (a flaky server)

Every request but /_runs needs HTTP basic auth api:API_KEY (else 401, as W&B answers).
"""
import base64
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RUNS = {}
FAULTS = {"file_stream": 0}
LOCK = threading.Lock()


def run_of(entity, project, name):
    key = f"{entity}/{project}/{name}"
    return RUNS.setdefault(key, {"upsert": {}, "config": {}, "history": {}, "summary": {}, "exitcode": None,
                                 "complete": False, "files": {}, "upserts": 0})


class Handler(BaseHTTPRequestHandler):
    api_key = ""
    viewer_entity = "default-entity"

    def log_message(self, *args):
        pass

    def reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def authorized(self):
        expected = "Basic " + base64.b64encode(f"api:{self.api_key}".encode()).decode()
        if self.headers.get("Authorization") == expected:
            return True
        self.reply(401, {"errors": [{"message": "user is not logged in"}]})
        return False

    def do_GET(self):
        if self.path == "/_runs":
            with LOCK:
                return self.reply(200, RUNS)
        if not self.authorized():
            return
        self.reply(404, {"error": "not found"})

    def do_PUT(self):
        data = self.body()
        if not self.path.startswith("/upload/") or not self.authorized():
            return
        entity, project, name, file = self.path[len("/upload/"):].split("/", 3)
        with LOCK:
            run_of(entity, project, name)["files"][file] = len(data)
        self.reply(200, {})

    def do_POST(self):
        data = self.body()
        if self.path.startswith("/sdk/otel/"):  # the official client's telemetry
            return self.reply(200, {})
        if self.path == "/_faults":
            with LOCK:
                FAULTS.update(json.loads(data))
            return self.reply(200, FAULTS)
        if not self.authorized():
            return
        if self.path == "/graphql":
            return self.reply(200, self.graphql(json.loads(data)))
        parts = self.path.strip("/").split("/")
        if len(parts) == 5 and parts[0] == "files" and parts[4] == "file_stream":
            with LOCK:
                failing = FAULTS["file_stream"] > 0
                FAULTS["file_stream"] -= failing
            if failing:
                return self.reply(503, {"error": "service unavailable"})
            self.file_stream(parts[1], parts[2], parts[3], json.loads(data))
            return self.reply(200, {"exitcode": None, "limits": {}})
        self.reply(404, {"error": "not found"})

    def graphql(self, request):
        op = request.get("operationName") or ""
        query = request.get("query", "")
        v = request.get("variables") or {}
        if op == "Viewer" or "viewer" in query and "mutation" not in query:
            return {"data": {"viewer": {"id": "VXNlcjox", "entity": self.viewer_entity, "username": "tester",
                                        "email": "tester@example.com", "flags": "{}", "teams": {"edges": []}}}}
        if op == "ServerFeaturesQuery":
            return {"data": {"serverInfo": {"features": []}}}
        if "upsertBucket" in query:
            entity = v.get("entity") or self.viewer_entity
            project = v.get("project") or "uncategorized"
            with LOCK:
                run = run_of(entity, project, v["name"])
                run["upserts"] += 1
                for key, value in v.items():
                    if value is not None and key != "config":
                        run["upsert"][key] = value
                if v.get("config"):
                    for key, item in json.loads(v["config"]).items():
                        run["config"][key] = item.get("value") if isinstance(item, dict) else item
            return {"data": {"upsertBucket": {"inserted": run["upserts"] == 1, "bucket": {
                "id": base64.b64encode(f"Run:v1:{v['name']}:{project}:{entity}".encode()).decode(),
                "name": v["name"], "displayName": v.get("displayName") or v["name"], "description": None,
                "config": json.dumps({}), "sweepName": None, "historyLineCount": len(run["history"]),
                "project": {"id": "UHJvamVjdDox", "name": project, "entity": {"id": "RW50aXR5OjE=", "name": entity}}}}}}
        if "createRunFiles" in query:
            base = f"http://{self.headers.get('Host')}/upload/{v['entity']}/{v['project']}/{v['run']}"
            return {"data": {"createRunFiles": {"runID": v["run"], "uploadHeaders": [],
                                                "files": [{"name": f, "uploadUrl": f"{base}/{f}"} for f in v["files"]]}}}
        if "organization" in query:
            return {"data": {"entity": {"organization": None}}}
        return {"data": {}}

    def file_stream(self, entity, project, name, payload):
        with LOCK:
            run = run_of(entity, project, name)
            for file, chunk in (payload.get("files") or {}).items():
                lines = chunk.get("content") or []
                if file == "wandb-history.jsonl":
                    for i, line in enumerate(lines):
                        run["history"][str(chunk.get("offset", 0) + i)] = json.loads(line)
                elif file == "wandb-summary.json" and lines:
                    run["summary"] = json.loads(lines[-1])
            if payload.get("complete"):
                run["complete"] = True
                run["exitcode"] = payload.get("exitcode")


def serve(port, key):
    Handler.api_key = key
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"serving {server.server_address[1]}", flush=True)
    server.serve_forever()


def official_client(url, key):
    import os
    import tempfile
    os.environ.update({"WANDB_BASE_URL": url, "WANDB_API_KEY": key, "WANDB_SILENT": "true"})
    import wandb
    with tempfile.TemporaryDirectory() as d:
        run = wandb.init(project="p-official", entity="e1", name="official", tags=["t"], mode="online", dir=d,
                         config={"optimizer": {"lr": 0.1}, "steps": 3})
        for step in range(1, 4):
            run.log({"loss": 1.0 / step, "lr": 0.1}, step=step)
        run.finish()
    print(run.id)


if __name__ == "__main__":
    if sys.argv[1] == "--client":
        official_client(sys.argv[2], sys.argv[3])
    else:
        serve(int(sys.argv[1]), sys.argv[2])
