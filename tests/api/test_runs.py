"""Background runs over real HTTP: a turn that outlives its request, followed, dropped and
resumed without a gap or a repeat, and cancelled."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from testbed.servers import Server, start_traced_api, wait_for_trace

OWNER = {"user_id": "ada"}
ASYNC = {"Prefer": "respond-async"}


@pytest.fixture(scope="module")
def slow_api(
    mlflow_url: str, synced_prompts: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Tokens 4 ms apart: an article takes seconds, time enough to drop off or cancel."""
    server = start_traced_api(
        Path(tmp_path_factory.mktemp("runs")), mlflow_url, "tests", OFFLINE_TOKEN_DELAY_MS="4"
    )
    yield server
    server.stop()


def start_run(api: Server, path: str = "/write", **body: object) -> dict[str, Any]:
    payload = {"topic": "Solar power", **OWNER, **body} if path == "/write" else body
    answer = httpx.post(f"{api.url}{path}", json=payload, headers=ASYNC, timeout=60)
    assert answer.status_code == 202, answer.text
    started = dict(answer.json())
    assert answer.headers["Location"] == started["url"] == f"/runs/{started['run_id']}"
    assert answer.headers["Preference-Applied"] == "respond-async"
    return started


def wait_run(api: Server, run_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = httpx.get(f"{api.url}/runs/{run_id}", params=OWNER).json()
        if run["status"] != "running":
            return dict(run)
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still running after {timeout_s} s")


def read_events(
    api: Server, run_id: str, last_event_id: str | None = None, stop_after: int | None = None
) -> list[tuple[int, str, dict[str, Any]]]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    got: list[tuple[int, str, dict[str, Any]]] = []
    with (
        httpx.Client(timeout=120) as client,
        connect_sse(
            client, "GET", f"{api.url}/runs/{run_id}/events", params=OWNER, headers=headers
        ) as source,
    ):
        for event in source.iter_sse():
            if not event.data:
                continue  # a heartbeat
            got.append((int(event.id), event.event, json.loads(event.data)))
            if stop_after is not None and len(got) >= stop_after:
                break  # the client drops off
    return got


def test_a_background_run_finishes_without_its_client(slow_api: Server, mlflow_url: str) -> None:
    started = start_run(slow_api)
    # Nobody follows it: the request has ended, the run goes on.
    run = wait_run(slow_api, started["run_id"])
    assert run["status"] == "done", run
    article = run["outcome"]["article"]
    assert article["word_count"] > 100 and article["references"]
    assert run["trace_id"] == run["outcome"]["trace_id"]
    trace = wait_for_trace(mlflow_url, run["trace_id"])
    assert trace.info.tags["outcome"] == "article"


def test_a_follower_that_drops_off_resumes_with_no_gap_and_no_repeat(slow_api: Server) -> None:
    started = start_run(slow_api)
    run_id = started["run_id"]
    first = read_events(slow_api, run_id, stop_after=15)  # then the connection drops
    assert first[0][1] == "trace"
    rest = read_events(slow_api, run_id, last_event_id=str(first[-1][0]))
    assert rest[-1][1] == "done"
    ids = [seq for seq, _, _ in first + rest]
    assert ids == list(range(1, len(ids) + 1))  # every event once, in order
    assert [e[1] for e in first + rest] == [e[1] for e in read_events(slow_api, run_id)]
    assert rest[-1][2]["article"] == wait_run(slow_api, run_id)["outcome"]["article"]
    assert {"node", "token", "usage"} <= {kind for _, kind, _ in first + rest}


def test_a_cancelled_run_stops_and_its_trace_says_so(slow_api: Server, mlflow_url: str) -> None:
    started = start_run(slow_api)
    run_id = started["run_id"]
    read_events(slow_api, run_id, stop_after=5)  # it is under way
    cancelled = httpx.delete(f"{slow_api.url}/runs/{run_id}", params=OWNER)
    assert cancelled.status_code == 202 and cancelled.json()["cancel_requested"]
    run = wait_run(slow_api, run_id, timeout_s=30)
    assert run["status"] == "cancelled" and run["outcome"]["code"] == "cancelled"
    events = read_events(slow_api, run_id)
    assert events[-1][1] == "error" and events[-1][2]["code"] == "cancelled"
    trace = wait_for_trace(mlflow_url, run["trace_id"])
    assert trace.info.tags["outcome"] == "cancelled"


def test_follow_ups_and_approvals_run_in_the_background_too(slow_api: Server) -> None:
    done = wait_run(slow_api, start_run(slow_api)["run_id"])
    session = done["outcome"]["session_id"]
    follow = start_run(
        slow_api, f"/sessions/{session}/revise", instruction="make it shorter", **OWNER
    )
    shorter = wait_run(slow_api, follow["run_id"])
    assert shorter["status"] == "done" and shorter["outcome"]["turn"] == 2
    paused = wait_run(slow_api, start_run(slow_api, review_outline=True)["run_id"])
    assert paused["status"] == "awaiting_outline" and paused["outcome"]["outline"]["sections"]


def test_runs_are_their_owners_and_refusals_come_at_once(slow_api: Server) -> None:
    run_id = start_run(slow_api)["run_id"]
    for params in ({"user_id": "mallory"}, {}):
        assert httpx.get(f"{slow_api.url}/runs/{run_id}", params=params).status_code == 404
        assert httpx.delete(f"{slow_api.url}/runs/{run_id}", params=params).status_code == 404
        events = httpx.get(f"{slow_api.url}/runs/{run_id}/events", params=params)
        assert events.status_code == 404 and events.json()["error"] == "unknown_run"
    assert httpx.get(f"{slow_api.url}/runs/run-{'0' * 32}", params=OWNER).status_code == 404
    assert httpx.get(f"{slow_api.url}/runs/not-a-run", params=OWNER).status_code == 422
    # A turn refused before it begins is answered as a plain request would be: no run.
    unknown = httpx.post(
        f"{slow_api.url}/sessions/s-never-made/revise",
        json={"instruction": "make it shorter", **OWNER},
        headers=ASYNC,
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_session"
    wait_run(slow_api, run_id)
