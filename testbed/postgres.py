"""A real PostgreSQL server for the tests: Debian's `postgresql` binaries, `initdb` in a temporary
folder, listening on a free loopback port, stopped and removed afterwards. `make test` installs
the package when it is missing (testbed/system.py)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg

from testbed.servers import free_port
from testbed.system import postgres_binaries

USER = "writer"  # the database role the tests connect as (trust authentication, loopback)


def _as_server_user(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; Debian's package makes the `postgres` user.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A fresh server and its URL (database `postgres`, role `writer`)."""
    bin_dir = postgres_binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
    # Not under pytest's tmp folders: the server's user must be able to reach its folder.
    home = Path(tempfile.mkdtemp(prefix="writer-pg-"))
    data = home / "data"
    if os.geteuid() == 0:
        server_user = pwd.getpwnam("postgres")
        os.chown(home, server_user.pw_uid, server_user.pw_gid)
    home.chmod(0o755)
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(
            _as_server_user(
                [str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8"]
            ),
            **run,  # type: ignore[call-overload]
        )
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {home} -c fsync=off"
        subprocess.run(
            _as_server_user(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-o",
                    options,
                    "-l",
                    str(home / "log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            **run,  # type: ignore[call-overload]
        )
        yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(home, ignore_errors=True)


def database(postgres_url: str, name: str) -> str:
    """A new database on the tests' PostgreSQL server, and its URL."""
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_url.rsplit('/', 1)[0]}/{name}"
