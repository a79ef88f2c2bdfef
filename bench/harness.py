"""What every benchmark here starts: an MLflow server and API processes on loopback.

Each benchmark compares configurations of the API measured in the same run, so machine noise
falls on all of them alike.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil

from service import tracking_server
from testbed.servers import (
    Server,
    finalized,
    free_port,
    start_traced_api,
    trace_infos,
    wait_for_trace,
)

__all__ = [
    "Server",
    "apis",
    "cpu_seconds",
    "experiment_name",
    "finalized",
    "machine_busy_seconds",
    "main_thread_cpu_seconds",
    "trace_infos",
    "tracking_db",
    "tracking_server_pid",
    "wait_for_trace",
]

# The MLflow server process `apis` started, by URL: benchmarks read its CPU time; and where
# it keeps its data.
_tracking_servers: dict[str, subprocess.Popen[bytes]] = {}
_stores: dict[str, Path | str] = {}


def experiment_name(config: str) -> str:
    """The experiment a configuration's API traces into: one each, so traces can be counted."""
    return f"bench-{config}"


def tracking_db(mlflow_url: str) -> Path | str:
    """Where the MLflow server `apis` started keeps its data: its sqlite file, or the URL of
    its PostgreSQL database."""
    return _stores[mlflow_url]


def tracking_server_pid(mlflow_url: str) -> int:
    return _tracking_servers[mlflow_url].pid


def cpu_seconds(pid: int) -> float:
    """CPU time so far of a process and its live descendants: user plus system of each.

    `mlflow server` runs its app in child processes (uvicorn and its workers), so the
    server's cost is the whole tree's. psutil: `children(recursive=True)` is the tree (by
    parent pid), and each process's `cpu_times()` `.user + .system` its own time (/proc's
    utime + stime). Its `children_user`/`children_system`, the time of children that exited
    and were waited for, are left out, as they always were here: a descendant counts while
    it lives.
    """
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in tree:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:  # it ended while we looked
            continue
        total += times.user + times.system
    return total


def main_thread_cpu_seconds(pid: int) -> float:
    """CPU time so far of a process's main thread: under uvicorn, the event loop. The rest of
    the process's time is its other threads' (MLflow's exporter, `asyncio.to_thread`). With
    uvicorn's workers, the event loops are the workers' main threads, and each counts.

    psutil's `Process.threads()` gives each thread's user and system time; the main thread's
    id is the process's pid."""
    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            main = next(t for t in process.threads() if t.id == process.pid)
            total += main.user_time + main.system_time
    return total


def machine_busy_seconds() -> float:
    """CPU time so far of the whole machine, every process (all cores together).

    psutil's `cpu_times()` is the machine's (Linux: /proc/stat's first line, in seconds): busy
    is all but idle and iowait, user to steal; guest time is already in user."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + t.steal


@contextlib.contextmanager
def apis(
    configs: dict[str, dict[str, str]], *, mlflow_workers: int = 1, postgres: bool = False
) -> Iterator[tuple[str, dict[str, Server]]]:
    """An MLflow server and one API per named configuration (settings as environment). With
    `postgres`, the server keeps its data in a PostgreSQL server started for the run (Debian's
    `postgresql` package) and serves its artifacts, as a team runs it."""
    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(_database()) if postgres else None
        yield stack.enter_context(_apis(configs, mlflow_workers, backend))


@contextlib.contextmanager
def _database() -> Iterator[str]:
    from testbed.postgres import database, postgres_server

    with postgres_server() as url:
        yield database(url, "mlflow_bench")


@contextlib.contextmanager
def _apis(
    configs: dict[str, dict[str, str]], mlflow_workers: int, backend: str | None
) -> Iterator[tuple[str, dict[str, Server]]]:
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    with tracking(work, mlflow_workers, backend) as mlflow_url:
        started: dict[str, Server] = {}
        try:
            for name, env in configs.items():
                started[name] = start_traced_api(work, mlflow_url, experiment_name(name), **env)
            yield mlflow_url, started
        finally:
            for api in started.values():
                api.stop()


@contextlib.contextmanager
def tracking(work: Path, mlflow_workers: int = 1, backend: str | None = None) -> Iterator[str]:
    """An MLflow server for a benchmark, on sqlite in `work` or on the `backend` database,
    known to `tracking_server_pid` and `tracking_db` while it runs."""
    port = free_port()
    server = tracking_server.start(
        port, work / "mlflow", jobs=False, workers=mlflow_workers, backend=backend
    )
    mlflow_url = f"http://127.0.0.1:{port}"
    _tracking_servers[mlflow_url] = server
    _stores[mlflow_url] = backend or work / "mlflow" / "mlflow.db"
    try:
        tracking_server.wait_until_healthy(mlflow_url, server, timeout_s=180)
        yield mlflow_url
    finally:
        tracking_server.stop(server)
        del _tracking_servers[mlflow_url], _stores[mlflow_url]


@contextlib.contextmanager
def start_postgres_mlflow(work: Path) -> Iterator[tuple[str, int]]:
    """A PostgreSQL server and an MLflow server on it: the MLflow URL and its pid."""
    with _database() as backend, tracking(work, backend=backend) as mlflow_url:
        yield mlflow_url, tracking_server_pid(mlflow_url)
