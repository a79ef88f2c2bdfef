"""Sessions over real HTTP: each article belongs to a session that outlives the process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import mlflow
import pytest

from testbed.servers import Server, start_traced_api, wait_for_trace


def write(api: Server, **body: object) -> httpx.Response:
    return httpx.post(f"{api.url}/write", json={"topic": "Coral reefs", **body}, timeout=120)


def test_every_article_belongs_to_a_session_its_owner_can_read(api: Server) -> None:
    first = write(api, user_id="grace")
    assert first.status_code == 200, first.text
    body = first.json()
    session, turn = body["session_id"], body["turn"]
    assert session.startswith("s-") and turn == 1

    seen = httpx.get(f"{api.url}/sessions/{session}", params={"user_id": "grace"})
    assert seen.status_code == 200, seen.text
    view = seen.json()
    assert view["user_id"] == "grace"
    assert view["article"] == body["article"]
    [only] = view["turns"]
    assert only["n"] == 1 and only["kind"] == "write" and only["instruction"] == "Coral reefs"
    assert only["trace_id"] == body["trace_id"]
    assert only["title"] == body["article"]["title"]
    assert only["words"] == body["article"]["word_count"]


def test_a_session_is_nobody_elses(api: Server) -> None:
    session = write(api, user_id="grace").json()["session_id"]
    for user in ({"user_id": "mallory"}, {}):  # another user, or none named
        answer = httpx.get(f"{api.url}/sessions/{session}", params=user)
        assert answer.status_code == 404
        assert answer.json()["error"] == "unknown_session"
        assert "user_id" in answer.json()["message"]
        taken = write(api, session_id=session, **user)
        assert taken.status_code == 404 and taken.json()["error"] == "unknown_session"
        gone = httpx.delete(f"{api.url}/sessions/{session}", params=user)
        assert gone.status_code == 404
    unknown = httpx.get(f"{api.url}/sessions/s-never-made", params={"user_id": "grace"})
    assert unknown.status_code == 404
    bad = httpx.get(f"{api.url}/sessions/not%20an%20id")
    assert bad.status_code == 422


def test_turns_follow_each_other_and_mlflow_groups_their_traces(
    api: Server, mlflow_url: str
) -> None:
    one = write(api, user_id="ada", session_id="s-reefs-then-bees").json()
    two = write(api, user_id="ada", session_id="s-reefs-then-bees", topic="Honeybees").json()
    assert (one["turn"], two["turn"]) == (1, 2)
    view = httpx.get(f"{api.url}/sessions/s-reefs-then-bees", params={"user_id": "ada"}).json()
    assert [t["instruction"] for t in view["turns"]] == ["Coral reefs", "Honeybees"]
    assert view["article"]["title"] == two["article"]["title"]  # the current article

    for body in (one, two):
        trace = wait_for_trace(mlflow_url, body["trace_id"])
        assert trace.info.trace_metadata["mlflow.trace.session"] == "s-reefs-then-bees"
        assert trace.info.trace_metadata["session.turn"] == str(body["turn"])
    found = mlflow.MlflowClient(mlflow_url).search_traces(
        locations=[trace.info.experiment_id],
        filter_string="metadata.`mlflow.trace.session` = 's-reefs-then-bees'",
        order_by=["timestamp_ms ASC"],
    )
    assert [t.info.trace_id for t in found] == [one["trace_id"], two["trace_id"]]


async def test_one_turn_at_a_time(api: Server) -> None:
    async with httpx.AsyncClient(base_url=api.url, timeout=120) as client:
        body = {"topic": "Solar power and storage", "user_id": "ada", "session_id": "s-twice"}
        answers = await asyncio.gather(*(client.post("/write", json=body) for _ in range(4)))
    codes = sorted(a.status_code for a in answers)
    # Four at once: the first runs, those that arrive while it runs are refused.
    assert 200 in codes and 409 in codes and set(codes) <= {200, 409}, codes
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["error"] == "session_busy"


def test_deleted_sessions_are_forgotten(api: Server) -> None:
    session = write(api, user_id="ada").json()["session_id"]
    assert (
        httpx.delete(f"{api.url}/sessions/{session}", params={"user_id": "ada"}).status_code == 204
    )
    after = httpx.get(f"{api.url}/sessions/{session}", params={"user_id": "ada"})
    assert after.status_code == 404
    again = write(api, user_id="someone-else", session_id=session)
    assert again.status_code == 200 and again.json()["turn"] == 1  # the id is free again


@pytest.fixture
def sessions_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sessions.db'}"


def test_a_session_outlives_the_process(
    mlflow_url: str, synced_prompts: str, tmp_path: Path, sessions_file: str
) -> None:
    first = start_traced_api(tmp_path, mlflow_url, "tests", CHECKPOINT_URL=sessions_file)
    try:
        body = write(first, user_id="ada").json()
    finally:
        first.stop()
    second = start_traced_api(tmp_path, mlflow_url, "tests", CHECKPOINT_URL=sessions_file)
    try:
        session = body["session_id"]
        view = httpx.get(f"{second.url}/sessions/{session}", params={"user_id": "ada"}).json()
        assert view["article"] == body["article"]
        follow = httpx.post(
            f"{second.url}/sessions/{session}/revise",
            json={"instruction": "make it shorter", "user_id": "ada"},
            timeout=120,
        ).json()
        assert follow["turn"] == 2  # a follow-up on the article the first process wrote
        assert follow["article"]["word_count"] < body["article"]["word_count"]
    finally:
        second.stop()
