"""Outline approval's rules, in process: what a client sees when it answers wrongly or late."""

from __future__ import annotations

import asyncio

from tests.api.inprocess.harness import Serve

WRITE = {"topic": "Coral reefs", "review_outline": True, "user_id": "ada"}


async def test_an_outline_left_waiting_expires(serve: Serve) -> None:
    served = await serve(outline_ttl_seconds=0.5)
    waiting = (await served.client.post("/write", json=WRITE)).json()
    await asyncio.sleep(1)
    late = await served.client.post(
        f"/sessions/{waiting['session_id']}/outline", json={"approve": True, "user_id": "ada"}
    )
    assert late.status_code == 410 and late.json()["error"] == "outline_expired"
    assert "POST /write" in late.json()["message"]


async def test_an_answer_is_an_approval_or_an_outline(serve: Serve) -> None:
    served = await serve()
    waiting = (await served.client.post("/write", json=WRITE)).json()
    path = f"/sessions/{waiting['session_id']}/outline"
    for body in (
        {"user_id": "ada"},
        {"approve": True, "outline": waiting["outline"], "user_id": "ada"},
    ):
        answer = await served.client.post(path, json=body)
        assert answer.status_code == 422, answer.text
        assert '{"approve": true} or {"outline": {...}}' in answer.json()["message"]
    other = await served.client.post(path, json={"approve": True, "user_id": "mallory"})
    assert other.status_code == 404
    revise = await served.client.post(
        f"/sessions/{waiting['session_id']}/revise",
        json={"instruction": "make it shorter", "user_id": "ada"},
    )
    assert revise.status_code == 409 and revise.json()["error"] == "no_article"
    assert "awaits approval" in revise.json()["message"]


async def test_a_session_with_no_paused_outline_has_none_to_approve(serve: Serve) -> None:
    served = await serve()
    written = (await served.client.post("/write", json={**WRITE, "review_outline": False})).json()
    answer = await served.client.post(
        f"/sessions/{written['session_id']}/outline", json={"approve": True, "user_id": "ada"}
    )
    assert answer.status_code == 409 and answer.json()["error"] == "no_outline"
