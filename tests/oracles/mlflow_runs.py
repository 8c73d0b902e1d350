#!/usr/bin/env python3
"""MLflow's own client as the oracle for the runs we record (tests/oracle/tracker_oracle_test.cpp).

    mlflow_runs.py TRACKING_URI EXPERIMENT_NAME      prints the experiment's runs as JSON
    mlflow_runs.py serve STORE_DIR PORT              runs `mlflow server` on 127.0.0.1:PORT

The JSON: [{run_id, run_name, status, params, tags, metrics: {key: [[step, value], ...]},
artifacts: [paths]}] from MlflowClient.search_runs / get_run / get_metric_history.
"""
import json
import logging
import os
import subprocess
import sys
import warnings


def list_artifacts(client, run_id, path=None):
    """Every artifact path of the run, folders walked (list_artifacts lists one level)."""
    out = []
    for a in client.list_artifacts(run_id, path):
        out.extend(list_artifacts(client, run_id, a.path) if a.is_dir else [a.path])
    return out


def runs(uri, experiment_name):
    # mlflow 3.x reads file stores only when asked to (the backend is in maintenance mode).
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(experiment_name)
    out = []
    for listed in client.search_runs([experiment.experiment_id]):
        run = client.get_run(listed.info.run_id)  # get_run, as users read one run
        metrics = {}
        for key in run.data.metrics:
            history = client.get_metric_history(run.info.run_id, key)
            metrics[key] = sorted([m.step, m.value] for m in history)
        try:
            artifacts = list_artifacts(client, run.info.run_id)
        except Exception as e:  # noqa: BLE001 - reported to the test as data
            artifacts = ["<error: %s>" % e]
        out.append({
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "status": run.info.status,
            "params": run.data.params,
            "tags": run.data.tags,
            "metrics": metrics,
            "artifacts": artifacts,
        })
    return out


def serve(store_dir, port):
    os.makedirs(store_dir, exist_ok=True)
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", port,
           "--backend-store-uri", "sqlite:///" + os.path.join(store_dir, "mlflow.db"),
           "--artifacts-destination", os.path.join(store_dir, "artifacts"), "--workers", "1"]
    os.execv(sys.executable, cmd)


def main():
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    if sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    print(json.dumps(runs(sys.argv[1], sys.argv[2])))


if __name__ == "__main__":
    main()
