"""Shared fixtures: a real MLflow tracking server and the API under uvicorn, on free ports.

Everything runs on loopback; nothing needs a key or the internet.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cli.settings import Settings
from testbed.servers import Server, mlflow_server, start_traced_api, writer_cli
from testbed.system import NEEDS


@pytest.fixture(scope="session")
def mlflow_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as url:
        yield url


@pytest.fixture(scope="session")
def synced_prompts(mlflow_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return sync_prompts(mlflow_url, tmp_path_factory.mktemp("sync"))


@pytest.fixture(scope="session")
def api(
    mlflow_url: str, synced_prompts: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with suite_api(mlflow_url, tmp_path_factory.mktemp("api")) as server:
        yield server


def sync_prompts(mlflow_url: str, folder: Path) -> str:
    """The prompt files registered at alias `production`, as `make run` does."""
    done = writer_cli("prompts", "sync", cwd=folder, MLFLOW_TRACKING_URI=mlflow_url)
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextlib.contextmanager
def suite_api(mlflow_url: str, folder: Path) -> Iterator[Server]:
    """The API most tests call, tracing into `mlflow_url`'s experiment `tests`."""
    server = start_traced_api(
        folder,
        mlflow_url,
        "tests",
        MAX_CONCURRENT_WRITES="32",  # the concurrency tests run 20 at once
        FEEDBACK_WAIT_SECONDS="3",  # how long a rating of an unknown trace waits for it
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def untraced(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for in-process runs, untraced (the trace contract is tested over HTTP), applied
    to MLflow; keyword arguments override single settings."""
    import tracing
    from agent import spans

    def make(**overrides: object) -> Settings:
        settings = Settings(
            _env_file=None,
            tracing_enabled=False,
            mlflow_tracking_uri=f"sqlite:///{tmp_path}/untraced.db",
            **overrides,  # type: ignore[arg-type]
        )
        tracing.configure(settings, spans.PROCESSORS)
        return settings

    return make


@pytest.fixture
def offline_settings(untraced: Callable[..., Settings]) -> Settings:
    return untraced()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server for the session's tests that need one."""
    from testbed import postgres

    with postgres.postgres_server() as url:
        yield url


# Tests that need a system package say so with its marker (testbed/system.py), or by the fixture
# that starts it; on a machine without the package they are skipped with the command that
# installs it, and `make test` reports the tier as skipped rather than failed.
NEEDED_BY_FIXTURE = {"postgres_url": "postgres", "browser": "browser"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = {n.marker: n for n in NEEDS if not n.present()}
    for item in items:
        for fixture, marker in NEEDED_BY_FIXTURE.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)
        for marker, need in missing.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=need.missing))
