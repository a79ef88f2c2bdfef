"""What every benchmark here starts: an MLflow server and API processes on loopback.

Each benchmark compares configurations of the API measured in the same run, so machine noise
falls on all of them alike.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent import tracking_server
from tests.servers import Server, free_port, start_traced_api, wait_for_trace

__all__ = ["Server", "apis", "wait_for_trace"]


@contextlib.contextmanager
def apis(configs: dict[str, dict[str, str]]) -> Iterator[tuple[str, dict[str, Server]]]:
    """An MLflow server and one API per named configuration (settings as environment)."""
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    port = free_port()
    server = tracking_server.start(port, work / "mlflow", jobs=False)
    mlflow_url = f"http://127.0.0.1:{port}"
    started: dict[str, Server] = {}
    try:
        tracking_server.wait_until_healthy(mlflow_url, server, timeout_s=120)
        for name, env in configs.items():
            started[name] = start_traced_api(work, mlflow_url, "bench", **env)
        yield mlflow_url, started
    finally:
        for api in started.values():
            api.stop()
        tracking_server.stop(server)
