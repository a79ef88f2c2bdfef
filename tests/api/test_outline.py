"""Outline approval over real HTTP: a write paused after its plan, approved or edited by a
person, then written in a new trace of the same session that names the paused one."""

from __future__ import annotations

from typing import Any

import httpx
import mlflow

from testbed.servers import Server, wait_for_trace
from tests.api.test_stream import read_stream

OWNER = {"user_id": "ada"}


def paused(api: Server, topic: str = "Solar power") -> dict[str, Any]:
    answer = httpx.post(
        f"{api.url}/write",
        json={"topic": topic, "review_outline": True, **OWNER},
        timeout=120,
    )
    assert answer.status_code == 202, answer.text
    body = dict(answer.json())
    assert answer.headers["X-Trace-Id"] == body["trace_id"]
    return body


def approve(api: Server, session: str, **body: object) -> httpx.Response:
    return httpx.post(f"{api.url}/sessions/{session}/outline", json={**OWNER, **body}, timeout=120)


def test_a_paused_outline_approved_as_it_is_becomes_the_article(
    api: Server, mlflow_url: str
) -> None:
    waiting = paused(api)
    assert waiting["status"] == "awaiting_outline" and waiting["turn"] == 1
    headings = [s["heading"] for s in waiting["outline"]["sections"]]
    assert len(headings) >= 2 and waiting["expires_at"] > "2026"
    session = waiting["session_id"]
    view = httpx.get(f"{api.url}/sessions/{session}", params=OWNER).json()
    assert view["article"] is None and view["turns"][0]["awaiting"] == "outline"
    # Nothing beyond the plan ran: the paused trace has no research, drafting or review.
    first = wait_for_trace(mlflow_url, waiting["trace_id"])
    assert first.info.state.value == "OK" and first.info.tags["outcome"] == "awaiting_outline"
    names = {s.name for s in first.data.spans}
    assert "plan.state" in names and not {"research.state", "draft.state"} & names

    done = approve(api, session, approve=True)
    assert done.status_code == 200, done.text
    article = done.json()
    assert article["turn"] == 2 and article["session_id"] == session
    assert {s["heading"] for s in article["article"]["sections"]} <= set(headings)
    second = wait_for_trace(mlflow_url, article["trace_id"])
    assert second.info.trace_metadata["session.continues"] == waiting["trace_id"]
    assert second.info.trace_metadata["mlflow.trace.session"] == session
    assert second.info.request_preview == "outline approved"
    assert "plan.state" not in {s.name for s in second.data.spans}  # it went on from the plan

    again = approve(api, session, approve=True)
    assert again.status_code == 409 and again.json()["error"] == "no_outline"


def test_an_edited_outline_is_the_one_written(api: Server) -> None:
    waiting = paused(api)
    outline = waiting["outline"]
    kept = outline["sections"][:2]
    edited = {**outline, "title": "Solar power in two parts", "sections": kept}
    done = approve(api, waiting["session_id"], outline=edited)
    assert done.status_code == 200, done.text
    article = done.json()["article"]
    assert article["title"] == "Solar power in two parts"
    assert [s["heading"] for s in article["sections"]] == [s["heading"] for s in kept]

    too_small = {**outline, "sections": kept[:1]}
    answer = approve(api, paused(api)["session_id"], outline=too_small)
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_request"
    assert "outline.sections" in answer.json()["message"]

    blank = {**outline, "sections": [{**kept[0], "heading": " "}, {**kept[1], "question": "#"}]}
    answer = approve(api, paused(api)["session_id"], outline=blank)
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_request"
    assert "must say something in words" in answer.json()["message"]


def test_a_stream_ends_with_the_outline_and_the_approval_streams_on(api: Server) -> None:
    response, events = read_stream(
        api.url, {"topic": "Coral reefs", "review_outline": True, **OWNER}
    )
    assert response.status_code == 200
    kinds = [kind for kind, _, _ in events]
    assert kinds[0] == "trace" and kinds[-1] == "interrupt" and "done" not in kinds
    assert [d["node"] for k, _, d in events if k == "node"] == ["plan", "plan"]  # start, end
    waiting = events[-1][2]
    assert waiting["status"] == "awaiting_outline" and waiting["outline"]["sections"]

    response, events = read_stream(
        api.url, {"approve": True, **OWNER}, f"/sessions/{waiting['session_id']}/outline"
    )
    kinds = [kind for kind, _, _ in events]
    assert kinds[0] == "trace" and kinds[-1] == "done"
    nodes = [d["node"] for k, _, d in events if k == "node"]
    assert nodes[0] == "research" and "plan" not in nodes


def test_the_sessions_traces_read_as_the_conversation(api: Server, mlflow_url: str) -> None:
    waiting = paused(api, "Honeybees")
    done = approve(api, waiting["session_id"], approve=True).json()
    found = mlflow.MlflowClient(mlflow_url).search_traces(
        locations=[wait_for_trace(mlflow_url, done["trace_id"]).info.experiment_id],
        filter_string=f"metadata.`mlflow.trace.session` = '{waiting['session_id']}'",
        order_by=["timestamp_ms ASC"],
    )
    assert [t.info.request_preview for t in found] == ["Honeybees", "outline approved"]
