"""The suite's MLflow fixtures again, on a tracking server whose data is in PostgreSQL (a real
server the tests start) and which serves the artifacts itself, as a team runs it. Same names as
the suite's, so the tests `test_contract.py` imports run unchanged against it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.postgres import database
from testbed.servers import Server, mlflow_server
from tests.conftest import suite_api, sync_prompts


@pytest.fixture(scope="session")
def mlflow_url(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    backend = database(postgres_url, "mlflow_contract")
    with mlflow_server(tmp_path_factory.mktemp("mlflow-on-postgres"), backend=backend) as url:
        yield url


# Defined again here, so that they are this folder's: pytest keeps one of each session-scoped
# fixture per definition, and the suite's serve its sqlite-backed server.
@pytest.fixture(scope="session")
def synced_prompts(mlflow_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return sync_prompts(mlflow_url, tmp_path_factory.mktemp("sync"))


@pytest.fixture(scope="session")
def api(
    mlflow_url: str, synced_prompts: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with suite_api(mlflow_url, tmp_path_factory.mktemp("api")) as server:
        yield server


@pytest.fixture
def eval_store(mlflow_url: str) -> str:
    return mlflow_url
