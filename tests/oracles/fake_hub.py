#!/usr/bin/env python3
"""A loopback stand-in for the Hugging Face hub, speaking the HTTP API shape huggingface_hub and
automodel use (tests/oracle/hub_download_test.cpp):

    fake_hub.py PORT LFS_PORT [TOKEN]      (0: free ports, printed as "serving PORT LFS_PORT")

  GET  /api/{models,datasets}/{id}[/revision/{rev}][?blobs=true]  sha + siblings (blobId, size, lfs)
  GET  /api/{models,datasets}/{id}/tree/{rev}[/{path}]             tree entries (huggingface_hub 2.x)
  HEAD/GET /[datasets/]{id}/resolve/{rev}/{file}   X-Repo-Commit, ETag; LFS files answer 302 to
       http://localhost:LFS_PORT/lfs/{sha256} with X-Linked-Etag / X-Linked-Size, as the hub's CDN
  GET  /lfs/{sha256} on LFS_PORT                   Range requests (206)
  POST /_faults  [{"match": substr, "status": 429, "retry_after": "1", "headers": {..}, "times": n}
                  | {"match": substr, "cut_after": bytes, "times": n}]    (either port)
  GET  /_log     every request: {port, method, path, range, auth}

Errors as the hub sends them: 401 for private repos without the token, 404 with X-Error-Code
RepoNotFound / RevisionNotFound / EntryNotFound. Repos: the stories260K fixture as
tiny-org/stories260K (branch main, tag v1 with another generation_config.json) and as the private
tiny-org/private-stories, plus datasets tiny-org/gsm8k (configs main/ and socratic/, parquet) and
tiny-org/qa (data/ parquet + jsonl), both from the gsm8k fixture.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")
LFS_SUFFIXES = (".safetensors", ".parquet", ".bin", ".onnx")


def git_blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def commit_of(*parts):
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


def stories_files():
    folder = os.path.join(FIXTURES, "stories260K")
    files = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            files[name] = f.read()
    # Files automodel must not fetch: other weight formats, docs.
    files["pytorch_model.bin"] = b"\0" * 4096
    files["onnx/model.onnx"] = b"onnx" * 256
    files["README.md"] = b"# stories260K\n"
    files[".gitattributes"] = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    return files


def parquet_bytes(rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), out)
    return out.getvalue()


def gsm8k_rows(name, n):
    with gzip.open(os.path.join(FIXTURES, "datasets", "gsm8k", name), "rt") as f:
        return [json.loads(line) for _, line in zip(range(n), f)]


def build_repos():
    stories = stories_files()
    v1 = dict(stories)
    v1["generation_config.json"] = b'{"bos_token_id": 1, "eos_token_id": 2, "max_length": 7}\n'
    train, test = gsm8k_rows("train.jsonl.gz", 240), gsm8k_rows("test.jsonl.gz", 16)
    gsm = {"README.md": b"# gsm8k (two configs)\n"}
    for config in ("main", "socratic"):
        gsm[config + "/train-00000-of-00001.parquet"] = parquet_bytes(train)
        gsm[config + "/test-00000-of-00001.parquet"] = parquet_bytes(test)
    qa = {
        "README.md": b"# qa\n",
        ".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n",
        "data/train-00000-of-00001.parquet": parquet_bytes(train),
        "data/test-00000-of-00001.jsonl": "".join(json.dumps(r) + "\n" for r in test).encode(),
    }
    repos = {
        ("models", "tiny-org/stories260K"): {"private": False, "refs": {"main": stories, "v1": v1}},
        ("models", "tiny-org/private-stories"): {"private": True, "refs": {"main": stories}},
        ("datasets", "tiny-org/gsm8k"): {"private": False, "refs": {"main": gsm}},
        ("datasets", "tiny-org/qa"): {"private": False, "refs": {"main": qa}},
    }
    blobs = {}  # sha256 -> bytes, what the LFS host serves
    for (kind, repo_id), repo in repos.items():
        repo["commits"] = {}
        for ref, files in repo["refs"].items():
            commit = commit_of(kind, repo_id, ref)
            repo["commits"][commit] = files
            repo.setdefault("ref_commit", {})[ref] = commit
            for data in files.values():
                blobs[hashlib.sha256(data).hexdigest()] = data
    return repos, blobs


REPOS, BLOBS = build_repos()
STATE = {"faults": [], "log": [], "token": None, "lfs_port": None}
LOCK = threading.Lock()


def entry(path, data):
    """What the hub says of one file: its blob id, size and (LFS files) sha256."""
    e = {"rfilename": path, "blobId": git_blob_id(data), "size": len(data)}
    if path.endswith(LFS_SUFFIXES):
        e["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
    return e


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    # -- plumbing ---------------------------------------------------------------------------
    def send(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def send_json(self, obj, status=200, headers=None, head=False):
        headers = dict(headers or {})
        headers["Content-Type"] = "application/json"
        self.send(status, json.dumps(obj).encode(), headers, head)

    def error(self, status, code, message, head=False):
        headers = {"X-Error-Code": code} if code else {}
        self.send_json({"error": message}, status, headers, head)

    def record(self):
        with LOCK:
            STATE["log"].append({
                "port": "lfs" if self.server.server_port == STATE["lfs_port"] else "hub",
                "method": self.command, "path": self.path, "range": self.headers.get("Range"),
                "auth": self.headers.get("Authorization") is not None})

    def fault(self):
        """The first matching fault with tries left, used up by one."""
        with LOCK:
            for f in STATE["faults"]:
                if f["match"] in self.path and f.get("times", 1) > 0 and self.command in f.get("methods", ["GET", "HEAD"]):
                    f["times"] = f.get("times", 1) - 1
                    return dict(f)
        return None

    def authorized(self, repo):
        if not repo["private"]:
            return True
        return STATE["token"] and self.headers.get("Authorization") == "Bearer " + STATE["token"]

    # -- verbs ------------------------------------------------------------------------------
    def do_POST(self):
        self.record()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/_faults":
            with LOCK:
                STATE["faults"] = json.loads(body)
            return self.send_json({"ok": True})
        self.error(404, None, "not found")

    def do_HEAD(self):
        self.handle_get(head=True)

    def do_GET(self):
        self.handle_get(head=False)

    def handle_get(self, head):
        self.record()
        path = urlsplit(self.path).path
        if path == "/_log":
            with LOCK:
                return self.send_json(STATE["log"])
        f = self.fault()
        if f and "status" in f:
            headers = dict(f.get("headers", {}))
            if "retry_after" in f:
                headers["Retry-After"] = f["retry_after"]
            return self.send(f["status"], b"injected", headers, head)
        if path.startswith("/lfs/"):
            return self.serve_lfs(path[5:], head, f)
        if path.startswith("/api/"):
            return self.serve_api(path[5:], head)
        return self.serve_resolve(path[1:], head)

    def find_repo(self, kind, parts, head):
        """(repo_id, repo, rest of parts) or None after answering with the hub's error."""
        if len(parts) < 2:
            self.error(404, "RepoNotFound", "Repository not found", head)
            return None
        repo_id = parts[0] + "/" + parts[1]
        repo = REPOS.get((kind, repo_id))
        if repo is None:
            self.error(404, "RepoNotFound", "Repository not found", head)
            return None
        if not self.authorized(repo):
            self.error(401, "RepoNotFound", "Invalid username or password.", head)
            return None
        return repo_id, repo, parts[2:]

    def commit(self, repo, rev, head):
        rev = unquote(rev)
        commit = repo["ref_commit"].get(rev, rev if rev in repo["commits"] else None)
        if commit is None:
            self.error(404, "RevisionNotFound", "Invalid rev id: " + rev, head)
        return commit

    def serve_api(self, path, head):
        parts = path.split("/")
        kind, parts = parts[0], parts[1:]
        found = self.find_repo(kind, parts, head)
        if not found:
            return
        repo_id, repo, rest = found
        rev = "main"
        if rest and rest[0] in ("revision", "tree") and len(rest) >= 2:
            rev = rest[1]
        commit = self.commit(repo, rev, head)
        if commit is None:
            return
        files = repo["commits"][commit]
        if rest and rest[0] == "tree":
            prefix = "/".join(unquote(p) for p in rest[2:])
            out, dirs = [], set()
            for name, data in sorted(files.items()):
                if prefix and not name.startswith(prefix + "/"):
                    continue
                for i in range(name.count("/")):
                    dirs.add(name.rsplit("/", name.count("/") - i)[0])
                e = entry(name, data)
                item = {"type": "file", "oid": e["blobId"], "size": e["size"], "path": name}
                if "lfs" in e:
                    item["lfs"] = {"oid": e["lfs"]["sha256"], "size": e["size"], "pointerSize": 134}
                out.append(item)
            out += [{"type": "directory", "oid": commit_of(d), "size": 0, "path": d} for d in sorted(dirs)]
            return self.send_json(out, head=head)
        siblings = [entry(name, data) for name, data in sorted(files.items())]
        if "blobs=true" not in self.path:  # without blobs=true the hub lists names only
            siblings = [{"rfilename": s["rfilename"]} for s in siblings]
        self.send_json({"_id": repo_id, "id": repo_id, "modelId": repo_id, "sha": commit, "private": repo["private"],
                        "disabled": False, "gated": False, "tags": [], "downloads": 0, "likes": 0,
                        "lastModified": "2024-01-01T00:00:00.000Z", "createdAt": "2024-01-01T00:00:00.000Z",
                        "siblings": siblings}, head=head)

    def serve_resolve(self, path, head):
        parts = path.split("/")
        kind = "models"
        if parts[0] == "datasets":
            kind, parts = "datasets", parts[1:]
        if len(parts) < 5 or parts[2] != "resolve":
            return self.error(404, None, "not found", head)
        found = self.find_repo(kind, parts[:2], head)
        if not found:
            return
        _, repo, _ = found
        commit = self.commit(repo, parts[3], head)
        if commit is None:
            return
        name = "/".join(unquote(p) for p in parts[4:])
        data = repo["commits"][commit].get(name)
        if data is None:
            return self.error(404, "EntryNotFound", "Entry not found", head)
        e = entry(name, data)
        headers = {"X-Repo-Commit": commit, "ETag": '"%s"' % e["blobId"]}
        if "lfs" in e:
            headers.update({"X-Linked-Etag": '"%s"' % e["lfs"]["sha256"], "X-Linked-Size": str(len(data)),
                            "Location": "http://localhost:%d/lfs/%s" % (STATE["lfs_port"], e["lfs"]["sha256"])})
            return self.send(302, b"", headers, head)
        headers["Content-Type"] = "application/octet-stream"
        self.send(200, data, headers, head)

    def serve_lfs(self, sha, head, fault):
        data = BLOBS.get(sha)
        if data is None:
            return self.error(404, None, "no such object", head)
        start, status, headers = 0, 200, {"ETag": '"%s"' % sha, "Accept-Ranges": "bytes"}
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                return self.send(416, b"", {"Content-Range": "bytes */%d" % len(data)}, head)
            status = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
        body = data[start:]
        if fault and "corrupt_at" in fault and not head:  # one flipped byte: a broken transfer or proxy
            i = fault["corrupt_at"]
            body = body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1:]
        if fault and "cut_after" in fault and not head:  # promise the whole body, send part, hang up
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: fault["cut_after"]])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send(status, body, headers, head)


def main():
    # Port 0: the system picks free ports, printed for the test to read.
    port, lfs_port = int(sys.argv[1]), int(sys.argv[2])
    STATE["token"] = sys.argv[3] if len(sys.argv) > 3 else None
    hub = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    lfs = ThreadingHTTPServer(("127.0.0.1", lfs_port), Handler)
    STATE["lfs_port"] = lfs.server_port
    threading.Thread(target=lfs.serve_forever, daemon=True).start()
    print("serving %d %d" % (hub.server_port, lfs.server_port), flush=True)
    hub.serve_forever()


if __name__ == "__main__":
    main()
