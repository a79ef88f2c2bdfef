"""What every benchmark here starts: an MLflow server and API processes on loopback.

Each benchmark compares configurations of the API measured in the same run, so machine noise
falls on all of them alike.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from agent import tracking_server
from tests.servers import (
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

TICKS = os.sysconf("SC_CLK_TCK")  # the unit of CPU times in /proc/<pid>/stat
# The MLflow server process `apis` started, by URL: benchmarks read its CPU time.
_tracking_servers: dict[str, subprocess.Popen[bytes]] = {}


def experiment_name(config: str) -> str:
    """The experiment a configuration's API traces into: one each, so traces can be counted."""
    return f"bench-{config}"


def tracking_db(api: Server) -> Path:
    """The MLflow server's sqlite file: `apis` keeps it beside the APIs' logs."""
    return api.log.parent / "mlflow" / "mlflow.db"


def tracking_server_pid(mlflow_url: str) -> int:
    return _tracking_servers[mlflow_url].pid


def _ppid_and_cpu(stat: Path) -> tuple[int, float]:
    """A /proc stat file's parent pid and user plus system CPU seconds."""
    fields = stat.read_text().rsplit(")", 1)[1].split()  # the name in () may hold spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def cpu_seconds(pid: int) -> float:
    """CPU time so far of a process and its descendants (Linux /proc).

    `mlflow server` runs its app in child processes (uvicorn and its workers), so the
    server's cost is the whole tree's.
    """
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent, seconds = _ppid_and_cpu(stat)
        except OSError:  # the process ended while we looked
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
        times[int(stat.parent.name)] = seconds
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


def main_thread_cpu_seconds(pid: int) -> float:
    """CPU time so far of a process's main thread: under uvicorn, the event loop. The rest of
    the process's time is its other threads' (MLflow's exporter, `asyncio.to_thread`)."""
    return _ppid_and_cpu(Path(f"/proc/{pid}/task/{pid}/stat"))[1]


def machine_busy_seconds() -> float:
    """CPU time so far of the whole machine, every process (all cores together)."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / TICKS  # user..steal; guest time is already in user


@contextlib.contextmanager
def apis(
    configs: dict[str, dict[str, str]], *, mlflow_workers: int = 1
) -> Iterator[tuple[str, dict[str, Server]]]:
    """An MLflow server and one API per named configuration (settings as environment)."""
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    port = free_port()
    server = tracking_server.start(port, work / "mlflow", jobs=False, workers=mlflow_workers)
    mlflow_url = f"http://127.0.0.1:{port}"
    _tracking_servers[mlflow_url] = server
    started: dict[str, Server] = {}
    try:
        tracking_server.wait_until_healthy(mlflow_url, server, timeout_s=120)
        for name, env in configs.items():
            started[name] = start_traced_api(work, mlflow_url, experiment_name(name), **env)
        yield mlflow_url, started
    finally:
        for api in started.values():
            api.stop()
        tracking_server.stop(server)
        del _tracking_servers[mlflow_url]
