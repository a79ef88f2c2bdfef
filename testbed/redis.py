"""A real Redis server for the tests: Debian's `redis-server` (`make test` installs it when
missing), on a free loopback port, in memory only, stopped after use."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

from testbed.servers import free_port

BINARY = shutil.which("redis-server")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A fresh server and its URL."""
    if BINARY is None:
        raise RuntimeError("Redis is not installed: apt-get install redis-server")
    port = free_port()
    process = subprocess.Popen(
        [BINARY, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
