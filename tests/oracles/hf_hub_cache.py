#!/usr/bin/env python3
"""huggingface_hub as the oracle for the HF cache (tests/oracle/hub_download_test.cpp).

    hf_hub_cache.py check CACHE REPO_TYPE REPO_ID REVISION FILE...
        {"found": {file: path | null} from try_to_load_from_cache,
         "scan": {"repos": [{repo_id, repo_type, refs: {ref: commit},
                             revisions: {commit: [file, ...]}}], "warnings": [...]}} from scan_cache_dir
    hf_hub_cache.py download ENDPOINT CACHE REPO_TYPE REPO_ID REVISION [TOKEN]
        snapshot_download into CACHE; prints the snapshot folder
"""
import json
import logging
import sys
import warnings


def check(cache, repo_type, repo_id, revision, files):
    from huggingface_hub import scan_cache_dir, try_to_load_from_cache

    found = {}
    for f in files:
        p = try_to_load_from_cache(repo_id, f, cache_dir=cache, revision=revision, repo_type=repo_type)
        found[f] = p if isinstance(p, str) else None
    info = scan_cache_dir(cache)
    repos = []
    for repo in info.repos:
        repos.append({
            "repo_id": repo.repo_id,
            "repo_type": repo.repo_type,
            "refs": {ref: rev.commit_hash for ref, rev in repo.refs.items()},
            "revisions": {rev.commit_hash: sorted(str(f.file_path.relative_to(rev.snapshot_path)) for f in rev.files)
                          for rev in repo.revisions},
        })
    return {"found": found, "scan": {"repos": repos, "warnings": [str(w) for w in info.warnings]}}


def download(endpoint, cache, repo_type, repo_id, revision, token=None):
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id, repo_type=repo_type, revision=revision, cache_dir=cache, endpoint=endpoint,
                             token=token)


def main():
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    if sys.argv[1] == "check":
        print(json.dumps(check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])))
    else:
        print(download(*sys.argv[2:]))


if __name__ == "__main__":
    main()
