"""Starting an MLflow tracking server: sqlite and local artifacts in a data folder by default,
or a database (PostgreSQL) with the artifacts served by the server itself."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx


def start(
    port: int,
    data_dir: Path,
    host: str = "127.0.0.1",
    *,
    jobs: bool = True,
    catalog_uri: str = "",
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    backend: str | None = None,
    artifacts: str | None = None,
) -> subprocess.Popen[bytes]:
    """`jobs=False` skips MLflow's job runner (scheduled scorers), which costs a few CPU-seconds
    at start; tests that need no scorers start faster without it. `catalog_uri` is where the
    server looks up model prices to cost traces: empty means MLflow's bundled table, offline.
    `workers` is the server's worker processes (benchmarks compare 1 and 2). `env` adds or
    overrides environment variables of the server (and of its job runner) only, e.g. MLflow
    server settings a test needs.

    `backend` is a database URL (`postgresql://user:password@host:port/db`, the database
    created beforehand) for the server's data instead of sqlite in `data_dir`; the server then
    serves the artifacts too (`--serve-artifacts`), kept at `artifacts` (a folder or an
    `s3://bucket/path` URL; default `data_dir/artifacts`), so clients need no access of their
    own to the store."""
    data_dir.mkdir(parents=True, exist_ok=True)
    mlflow = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
    local_artifacts = (data_dir / "artifacts").resolve().as_uri()
    if backend is None:
        store = ["--backend-store-uri", f"sqlite:///{(data_dir / 'mlflow.db').resolve()}"]
        store += ["--default-artifact-root", local_artifacts]
    else:
        # The URL goes by environment (MLflow's own variable for it), not the command line,
        # where any user of the machine could read its password.
        env = {**(env or {}), "MLFLOW_BACKEND_STORE_URI": database_url(backend)}
        store = ["--serve-artifacts", "--artifacts-destination", artifacts or local_artifacts]
    command = [
        mlflow,
        "server",
        *store,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    log = (data_dir / "server.log").open("ab")
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": str(jobs).lower(),
        "MLFLOW_MODEL_CATALOG_URI": catalog_uri,
        **(env or {}),
    }
    # Its own process group: `mlflow server` runs uvicorn as a child, which must end with it.
    return subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )


def database_url(url: str) -> str:
    """The URL as SQLAlchemy needs it for the PostgreSQL driver the app ships (psycopg 3):
    `postgresql://` alone would ask for psycopg2, which it does not."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    wait_for_health(url, process, timeout_s, "the MLflow server")


def wait_for_health(
    url: str, process: subprocess.Popen[bytes], timeout_s: float, name: str, hint: str = ""
) -> None:
    """Polls `url`/health until it answers 200; raises at once if `process` exits first (with
    `hint`: where to look), and after `timeout_s` if it never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode}{hint}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{name} at {url} did not become healthy in {timeout_s:.0f} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ends the server and its workers; after 15 s, kills them."""
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        kill(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kills the server and its workers at once, as a crash would."""
    _signal_group(process, signal.SIGKILL)
    process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, sig)
