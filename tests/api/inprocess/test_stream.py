"""POST /write with `Accept: text/event-stream`, and GET /write/stream, as an SSE client reads
them: `trace` first, numbered events, then `done` (the JSON answer) or `error`."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import httpx
from fastapi import FastAPI
from httpx_sse import aconnect_sse

from api.deps import get_writer
from api.schemas import WriteResponse
from service.events import Event, EventHook
from service.failures import WriteFailed
from tests.api.inprocess.harness import STREAM

Received = list[tuple[str, str, dict[str, Any]]]


async def read_events(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> tuple[httpx.Response, Received]:
    async with aconnect_sse(client, method, url, **kwargs) as source:
        # Heartbeats are comments: a client sees them as events without data, and skips them.
        events = [(e.event, e.id, json.loads(e.data)) async for e in source.aiter_sse() if e.data]
        return source.response, events


async def test_the_stream_starts_with_trace_and_ends_with_the_json_answer(
    client: httpx.AsyncClient,
) -> None:
    response, events = await read_events(
        client,
        "POST",
        "/write",
        json={"topic": "Solar power", "target_words": 300},
        headers={**STREAM, "X-Request-Id": "stream-1"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["X-Request-Id"] == "stream-1"
    assert "X-Trace-Id" not in response.headers  # tracing is off

    kinds = [kind for kind, _, _ in events]
    assert kinds[0] == "trace" and kinds[-1] == "done"
    assert {"node", "tool", "token", "usage"} <= set(kinds)
    assert kinds.count("done") == 1 and "error" not in kinds
    # Numbered from 1 without gaps: a client can tell it missed one.
    assert [int(number) for _, number, _ in events] == list(range(1, len(events) + 1))
    done = events[-1][2]
    assert events[0][2] == {
        "trace_id": None,
        "request_id": "stream-1",
        "trace_url": None,
        "session_id": done["session_id"],  # known before any work: a new session's, here
        "turn": 1,
    }

    assert set(done) == set(WriteResponse.model_fields)  # the body POST /write would answer
    assert done["request_id"] == "stream-1" and done["article"]["word_count"] > 0
    totals = [data["total_tokens"] for kind, _, data in events if kind == "usage"]
    assert totals == sorted(totals) and done["usage"]["total_tokens"] == totals[-1]


async def test_a_topic_the_library_lacks_ends_the_stream_with_a_no_sources_error(
    client: httpx.AsyncClient,
) -> None:
    response, events = await read_events(
        client, "POST", "/write", json={"topic": "Medieval castle architecture"}, headers=STREAM
    )
    assert response.status_code == 200  # the stream had begun: the error is its last event
    kinds = [kind for kind, _, _ in events]
    assert kinds[0] == "trace" and kinds[-1] == "error" and "token" not in kinds
    error = events[-1][2]
    assert error["code"] == "no_sources" and error["closest_sources"]
    assert "SOURCES_DIR" in error["message"]


class BrokenProvider:
    """A writer that starts the run (so the stream begins) and then loses its provider."""

    async def write(self, request: Any, on_event: EventHook | None = None, **_: Any) -> NoReturn:
        if on_event:
            on_event(Event("trace", {"trace_id": None, "request_id": request.request_id}))
        raise WriteFailed("provider_error", None) from ConnectionError("10.0.0.7:443 refused")


async def test_a_failure_mid_stream_is_an_error_event_in_the_apps_own_words(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.dependency_overrides[get_writer] = BrokenProvider
    _, events = await read_events(
        client, "POST", "/write", json={"topic": "Solar power"}, headers=STREAM
    )
    assert [kind for kind, _, _ in events] == ["trace", "error"]
    # Exactly these keys: the provider's own words (its address) are not among them.
    assert events[-1][2] == {
        "code": "provider_error",
        "message": WriteFailed.MESSAGES["provider_error"],
        "trace_id": None,
    }


async def test_get_stream_takes_its_parameters_from_the_query(client: httpx.AsyncClient) -> None:
    response, events = await read_events(
        client, "GET", "/write/stream", params={"topic": "Roman aqueducts", "target_words": 300}
    )
    assert response.status_code == 200
    assert events[0][0] == "trace" and events[-1][0] == "done"
    assert events[-1][2]["article"]["title"]

    bad = await client.get("/write/stream", params={"topic": "ab", "target_words": 300})
    assert bad.status_code == 422  # plain JSON: a stream never started
    assert bad.json()["fields"] == [
        {"field": "query.topic", "message": "String should have at least 3 characters"}
    ]
