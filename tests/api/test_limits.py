"""Bounds the server keeps: a whole-article timeout (504) and a cap on concurrent articles (503)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from testbed.servers import Server, start_traced_api, wait_for_trace


@pytest.fixture(scope="module")
def slow_api(mlflow_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_traced_api(
        tmp_path_factory.mktemp("api-slow"),
        mlflow_url,
        "tests-limits",
        OFFLINE_TOKEN_DELAY_MS="20",  # about 2 s for the plan alone
        REQUEST_TIMEOUT_SECONDS="1.5",
        MAX_CONCURRENT_WRITES="1",
    )
    yield server
    server.stop()


async def test_too_slow_gives_504_and_too_many_gives_503(slow_api: Server, mlflow_url: str) -> None:
    async with httpx.AsyncClient(base_url=slow_api.url, timeout=30) as client:
        first = asyncio.create_task(client.post("/write", json={"topic": "Wind power"}))
        await asyncio.sleep(0.5)  # the first is now writing
        second = await client.post("/write", json={"topic": "Solar power"})
        timed_out = await first

    assert second.status_code == 503
    assert second.json()["error"] == "busy" and second.headers["Retry-After"] == "5"

    assert timed_out.status_code == 504
    error = timed_out.json()
    assert error["error"] == "timeout" and "shorter" in error["message"]
    trace = wait_for_trace(mlflow_url, error["trace_id"])
    assert trace.info.state.value == "ERROR"
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.attributes["error.code"] == "timeout"
