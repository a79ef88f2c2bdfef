"""Starting a local MLflow tracking server (sqlite backend, local artifacts, loopback only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx


def start(
    port: int, data_dir: Path, host: str = "127.0.0.1", *, jobs: bool = True, catalog_uri: str = ""
) -> subprocess.Popen[bytes]:
    """`jobs=False` skips MLflow's job runner (scheduled scorers), which costs a few CPU-seconds
    at start; tests that need no scorers start faster without it. `catalog_uri` is where the
    server looks up model prices to cost traces: empty means MLflow's bundled table, offline."""
    data_dir.mkdir(parents=True, exist_ok=True)
    mlflow = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
    command = [
        mlflow,
        "server",
        "--backend-store-uri",
        f"sqlite:///{(data_dir / 'mlflow.db').resolve()}",
        "--default-artifact-root",
        (data_dir / "artifacts").resolve().as_uri(),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = (data_dir / "server.log").open("ab")
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": str(jobs).lower(),
        "MLFLOW_MODEL_CATALOG_URI": catalog_uri,
    }
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the MLflow server exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"the MLflow server at {url} did not become healthy in {timeout_s:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
