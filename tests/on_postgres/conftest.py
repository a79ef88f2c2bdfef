"""The suite's MLflow fixtures again, on a tracking server whose data is in PostgreSQL (a real
server the tests start) and which serves the artifacts itself, as a team runs it. Same names as
the suite's, so the tests `test_contract.py` imports run unchanged against it."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from agent import tracking_server
from tests.servers import Server, free_port, start_traced_api, writer_cli


def database(postgres_url: str, name: str) -> str:
    """A new database on the tests' PostgreSQL server, and its URL."""
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_url.rsplit('/', 1)[0]}/{name}"


@pytest.fixture(scope="session")
def mlflow_url(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    process = tracking_server.start(
        port,
        tmp_path_factory.mktemp("mlflow-on-postgres"),
        jobs=False,
        backend=database(postgres_url, "mlflow_contract"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        tracking_server.wait_until_healthy(url, process, timeout_s=180)
        yield url
    finally:
        tracking_server.stop(process)


@pytest.fixture(scope="session")
def synced_prompts(mlflow_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    done = writer_cli(
        "prompts", "sync", cwd=tmp_path_factory.mktemp("sync"), MLFLOW_TRACKING_URI=mlflow_url
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="session")
def api(
    mlflow_url: str, synced_prompts: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    server = start_traced_api(
        tmp_path_factory.mktemp("api"), mlflow_url, "tests", MAX_CONCURRENT_WRITES="32"
    )
    yield server
    server.stop()


@pytest.fixture
def eval_store(mlflow_url: str) -> str:
    return mlflow_url
