"""The API in this process: `create_app(settings)` behind httpx's ASGI transport.

No MLflow server, no uvicorn, no offline-model process: the offline model already runs in
process, tracing is off, and the prompt registry is a sqlite file. What these tests can see is
what a client sees (status, headers, body, events); the traces are the end-to-end tier's.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from api.main import create_app
from cli.settings import Settings
from service import versions
from testbed.servers import SCRUBBED
from tests.api.inprocess.harness import BASE_URL, Serve, Served


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    # One store for the session: MLflow creates its tables the first time (seconds), and every
    # later app opens the file in milliseconds. Nothing is synced to it, so the app serves the
    # bundled prompts, as a first `make run` before `writer prompts sync` would.
    return f"sqlite:///{tmp_path_factory.mktemp('inprocess')}/mlflow.db"


@pytest.fixture(autouse=True)
def no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every app asks git for the checkout's commit, which names the agent version on traces.
    # Tracing is off, so no client can see it; and `git status` would be two processes per
    # test, on a checkout that may be in the middle of a commit (it can take the index lock).
    monkeypatch.setattr(versions, "git_commit", lambda: None)


@pytest.fixture
def make_settings(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Settings for an in-process app; keyword arguments override single settings."""
    # The developer's shell (LLM_MODEL, MAX_CONCURRENT_WRITES, ...) must not change what the
    # tests see, as it cannot for the end-to-end tier's subprocesses (testbed.servers.clean_env).
    for name in list(os.environ):
        if name.startswith(SCRUBBED):
            monkeypatch.delenv(name)

    def make(**overrides: object) -> Settings:
        defaults = {
            "mlflow_tracking_uri": tracking_uri,
            "checkpoint_url": "memory",
            # One in-process client is one caller; the limits are tested in
            # tests/api/security/test_ratelimits.py.
            "rate_limit_per_minute": 0,
            "rate_limit_in_flight": 0,
        }
        return Settings(
            _env_file=None,
            tracing_enabled=False,
            **{**defaults, **overrides},  # type: ignore[arg-type]
        )

    return make


@pytest.fixture
async def serve(make_settings: Callable[..., Settings]) -> AsyncIterator[Serve]:
    """Starts an app with the given setting overrides; everything started stops after the test.

    httpx's ASGITransport does not run the lifespan (which makes the writer and checks the
    registry), so the fixture enters it, as uvicorn would at startup.
    """
    async with contextlib.AsyncExitStack() as stack:

        async def start(**overrides: object) -> Served:
            settings = make_settings(**overrides)
            app = create_app(settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            # raise_app_exceptions=False: Starlette re-raises an unhandled error after it has
            # sent the 500; the client should get that 500, as a real one would.
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            client = httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=60)
            await stack.enter_async_context(client)
            return Served(app, settings, client)

        yield start


@pytest.fixture
async def served(serve: Serve) -> Served:
    """The app on default settings (offline model, tracing off)."""
    return await serve()


@pytest.fixture
def client(served: Served) -> httpx.AsyncClient:
    return served.client


@pytest.fixture
def app(served: Served) -> FastAPI:
    """The app behind `client`, for `app.dependency_overrides`; it lives for one test only."""
    return served.app
