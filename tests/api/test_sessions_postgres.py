"""Sessions on PostgreSQL over real HTTP: two API processes on one database are one service."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testbed.servers import Server, start_traced_apis
from tests.api.test_runs import read_events, start_run, wait_run

OWNER = {"user_id": "ada"}


@pytest.fixture(scope="module")
def replicas(
    mlflow_url: str,
    synced_prompts: str,
    postgres_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[Server]]:
    # Slow enough tokens that a turn is still running when the other replica is asked.
    env = {"CHECKPOINT_URL": postgres_url, "OFFLINE_TOKEN_DELAY_MS": "3"}
    servers = start_traced_apis(
        Path(tmp_path_factory.mktemp("replicas")), mlflow_url, "tests", [env, env]
    )
    yield servers
    for server in servers:
        server.stop()


def test_the_other_process_continues_the_session(replicas: list[Server]) -> None:
    a, b = replicas
    first = httpx.post(f"{a.url}/write", json={"topic": "Solar power", **OWNER}, timeout=120)
    assert first.status_code == 200, first.text
    session = first.json()["session_id"]
    second = httpx.post(
        f"{b.url}/sessions/{session}/revise",
        json={"instruction": "make it shorter", **OWNER},
        timeout=120,
    )
    assert second.status_code == 200, second.text
    assert second.json()["turn"] == 2
    assert second.json()["article"]["word_count"] < first.json()["article"]["word_count"]
    view = httpx.get(f"{a.url}/sessions/{session}", params=OWNER).json()
    assert [t["instruction"] for t in view["turns"]] == ["Solar power", "make it shorter"]
    assert view["article"] == second.json()["article"]  # read by the first process


async def test_one_turn_at_a_time_across_processes(replicas: list[Server]) -> None:
    a, b = replicas
    body = {"topic": "Coral reefs", "session_id": "s-across", **OWNER}
    async with httpx.AsyncClient(timeout=120) as client:
        await client.post(f"{a.url}/write", json=body)
        longer = {"instruction": "make it longer", **OWNER}
        answers = await asyncio.gather(
            client.post(f"{a.url}/sessions/s-across/revise", json=longer),
            client.post(f"{b.url}/sessions/s-across/revise", json=longer),
        )
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200, 409], [a.text for a in answers]
    busy = next(answer for answer in answers if answer.status_code == 409)
    assert busy.json()["error"] == "session_busy"


def test_a_background_run_is_followed_and_cancelled_from_the_other_process(
    replicas: list[Server],
) -> None:
    a, b = replicas
    run_id = start_run(a)["run_id"]
    followed = read_events(b, run_id)  # from the other process, as it happens
    assert followed[0][1] == "trace" and followed[-1][1] == "done"
    assert [e[0] for e in followed] == [e[0] for e in read_events(a, run_id)]

    run_id = start_run(a, topic="Coral reefs")["run_id"]
    assert httpx.delete(f"{b.url}/runs/{run_id}", params=OWNER).status_code == 202
    stopped = wait_run(a, run_id, timeout_s=30)  # the owner saw the request and stopped it
    assert stopped["status"] == "cancelled", stopped
