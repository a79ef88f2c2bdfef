"""`writer serve --workers 2` over real HTTP: articles spread across the two processes, each
traces on its own, and a SIGTERM drains both with every trace stored."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testbed.servers import (
    Server,
    clean_env,
    free_port,
    start_process,
    wait_for_trace,
    wait_healthy,
)

TOPICS = ["Coral reefs", "Wind power", "Sleep and caffeine", "Solar power"]
WAVES = 5  # bursts of articles, at most, until both workers have answered


def start_workers(work: Path, mlflow_url: str, **env: str) -> Server:
    port = free_port()
    settings = clean_env(
        API_PORT=str(port),
        MLFLOW_TRACKING_URI=mlflow_url,
        MLFLOW_EXPERIMENT_NAME="workers",
        LOG_FORMAT="json",
        **env,
    )
    command = [sys.executable, "-m", "cli", "serve", "--workers", "2"]
    server = start_process(command, work, settings, port)
    wait_healthy(server, "/ready", timeout_s=120)
    return server


@pytest.fixture
def workers(mlflow_url: str, synced_prompts: str, tmp_path: Path) -> Iterator[Server]:
    # Slow enough tokens that a dozen articles overlap, and a SIGTERM finds some in flight.
    server = start_workers(tmp_path, mlflow_url, OFFLINE_TOKEN_DELAY_MS="4")
    yield server
    server.stop()


async def write_all(api: Server, count: int) -> list[httpx.Response]:
    """`count` articles at once, asked for 0.1 s apart, as a load arrives: the workers share
    one listening socket, and the kernel wakes a worker that is waiting for connections, so a
    burst that lands in one instant may all go to one of them."""

    async def write(client: httpx.AsyncClient, n: int) -> httpx.Response:
        await asyncio.sleep(0.1 * n)
        return await client.post(f"{api.url}/write", json={"topic": TOPICS[n % len(TOPICS)]})

    async with httpx.AsyncClient(timeout=120) as client:
        return await asyncio.gather(*(write(client, n) for n in range(count)))


def served_by(api: Server) -> dict[str, int]:
    """Which worker process answered each POST /write, by request id (its JSON access log)."""
    lines = [json.loads(line) for line in api.output().splitlines() if line.startswith("{")]
    return {
        line["request_id"]: line["pid"]
        for line in lines
        if line.get("logger") == "api.access" and line.get("path") == "/write"
    }


def test_articles_spread_across_the_workers_and_each_traces(
    workers: Server, mlflow_url: str
) -> None:
    """Which worker accepts a connection is the kernel's choice, and a busy machine may hand a
    whole burst to one of them: articles are written in bursts until both have answered."""
    answers: list[httpx.Response] = []
    for _ in range(WAVES):
        answers += asyncio.run(write_all(workers, 6))
        assert [a.status_code for a in answers] == [200] * len(answers), [a.text for a in answers]
        pids = served_by(workers)
        if len({pids[a.json()["request_id"]] for a in answers}) == 2:
            break
    assert len({pids[a.json()["request_id"]] for a in answers}) == 2, pids
    for answer in answers:
        wait_for_trace(mlflow_url, answer.json()["trace_id"])


def test_sigterm_drains_the_workers_and_loses_no_trace(workers: Server, mlflow_url: str) -> None:
    """Every article in flight when SIGTERM comes is answered and traced, whichever worker
    holds it (which one does is the kernel's choice: the test above shows both serve)."""

    async def write_then_stop() -> list[httpx.Response]:
        writing = asyncio.ensure_future(write_all(workers, 8))
        await asyncio.sleep(1.0)  # the articles are being written
        workers.process.send_signal(signal.SIGTERM)
        return await writing

    answers = asyncio.run(write_then_stop())
    assert workers.process.wait(timeout=90) == 0
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    for answer in answers:  # written out by each worker as it stopped
        wait_for_trace(mlflow_url, answer.json()["trace_id"], timeout_s=10)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{workers.url}/health", timeout=2)
