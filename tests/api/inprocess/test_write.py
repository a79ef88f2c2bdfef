"""POST /write in process: the article a client gets, and the failures it is told about."""

from __future__ import annotations

import re
from typing import Any, NoReturn

import httpx
from fastapi import FastAPI

from api.deps import get_writer
from service.failures import WriteFailed
from tests.api.inprocess.harness import STREAM, Serve

BUNDLED_PROMPTS = {
    "article-plan",
    "article-research",
    "article-draft",
    "article-review",
    "article-revise",
    "article-amend",
    "article-grade",
}
# Text a failure inside the server could carry: none of it may reach a client.
INTERNAL = "sk-internal-0123456789abcdef at /srv/app/agent/llm.py line 42"


class FailingWriter:
    """Stands in for `ArticleWriter`: every article fails the way it is told to."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def write(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise self.error


def failing(app: FastAPI, error: Exception) -> None:
    app.dependency_overrides[get_writer] = lambda: FailingWriter(error)


async def test_an_article_comes_with_its_usage_prompts_and_the_request_id(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/write",
        json={"topic": "How honeybees pollinate crops", "target_words": 300},
        headers={"X-Request-Id": "req-42"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Request-Id"] == "req-42"
    body = answer.json()
    assert body["request_id"] == "req-42"

    article = body["article"]
    assert article["title"] and article["title"] in article["markdown"]
    assert len(article["sections"]) >= 2 and article["word_count"] > 100
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", article["markdown"])}
    assert cited and cited <= {ref["n"] for ref in article["references"]}

    usage = body["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert body["model"] == "offline-writer" and body["cost_usd"] is None  # no price for it
    # Nothing is synced to the registry: the bundled files, which have no version or alias.
    assert {p["name"] for p in body["prompts"]} == BUNDLED_PROMPTS
    assert all(p["version"] is None and p["alias"] is None for p in body["prompts"])
    # Tracing is off: no trace to name, and no header that would point at one.
    assert body["trace_id"] is None and body["trace_url"] is None
    assert "X-Trace-Id" not in answer.headers


async def test_a_malformed_request_id_is_replaced_with_one_the_server_makes(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post("/write", json={}, headers={"X-Request-Id": "two words"})
    given = answer.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", given)
    assert answer.json()["request_id"] == given


async def test_a_topic_the_library_lacks_is_refused_naming_the_closest_sources(
    client: httpx.AsyncClient,
) -> None:
    topic = "Medieval castle architecture"
    answer = await client.post("/write", json={"topic": topic})
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "no_sources" and "article" not in body
    assert topic in body["message"] and "SOURCES_DIR" in body["message"]
    closest = body["closest_sources"]
    assert closest and all({"id", "title", "score"} <= set(source) for source in closest)
    assert all(source["id"] in body["message"] for source in closest)
    assert body["request_id"] == answer.headers["X-Request-Id"]


async def test_a_provider_failure_is_a_502_that_says_to_retry_and_nothing_more(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    cause = RuntimeError(INTERNAL)
    error = WriteFailed("provider_error", None)
    error.__cause__ = cause  # as the writer raises it: the provider's words are the cause
    failing(app, error)
    answer = await client.post("/write", json={"topic": "Solar power"})
    assert answer.status_code == 502
    body = answer.json()
    assert body["error"] == "provider_error"
    assert body["message"] == WriteFailed.MESSAGES["provider_error"]
    assert "Retry-After" not in answer.headers  # only a busy server says when to come back
    assert INTERNAL not in answer.text and "RuntimeError" not in answer.text


async def test_an_unreachable_provider_is_a_502_naming_neither_its_address_nor_the_key(
    serve: Serve,
) -> None:
    # A real writer and a real OpenAI client, pointed at a closed loopback port: what the
    # client library says (the address, "Connection refused") stays in the server log.
    served = await serve(
        llm_model="openai:gpt-4o-mini",
        openai_base_url="http://127.0.0.1:9/v1",
        openai_api_key=INTERNAL,
        llm_max_retries=0,
        llm_context_tokens=8192,  # else the app first asks the provider for its window
    )
    answer = await served.client.post("/write", json={"topic": "Solar power"})
    assert answer.status_code == 502, answer.text
    assert answer.json()["error"] == "provider_error"
    for leak in ("127.0.0.1", "onnection", INTERNAL):
        assert leak not in answer.text


async def test_an_unexpected_error_is_a_500_with_a_generic_message(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    failing(app, RuntimeError(INTERNAL))
    answer = await client.post(
        "/write", json={"topic": "Solar power"}, headers={"X-Request-Id": "r-1"}
    )
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "internal_error",
        "message": "The server failed to answer. Try again later.",
        "trace_id": None,
        "request_id": "r-1",  # what to quote to the operator, instead of the error itself
    }


async def test_more_articles_than_allowed_at_once_get_503_with_retry_after(serve: Serve) -> None:
    # One slot, and an article slow enough (a delay per token) to hold it while we ask again.
    served = await serve(max_concurrent_writes=1, offline_token_delay_ms=2)
    async with (
        served.streaming_client() as streaming,
        streaming.stream("POST", "/write", json={"topic": "Solar power"}, headers=STREAM) as first,
    ):
        assert first.status_code == 200
        # The run holds the slot from before its `trace` event on.
        assert await first_lines(first, 2) == ["id: 1", "event: trace"]

        busy = await served.client.post("/write", json={"topic": "Wind power"})
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "5"
        assert busy.json()["error"] == "busy"
        assert "Try again in a few seconds" in busy.json()["message"]
        # A stream refused this way is told in plain JSON: no event stream ever started.
        refused = await served.client.post("/write", json={"topic": "Wind power"}, headers=STREAM)
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/json"
        assert refused.json()["error"] == "busy"

    # The first client hung up: its run is stopped, and the slot is free for the next article.
    async with (
        served.streaming_client() as streaming,
        streaming.stream("POST", "/write", json={"topic": "Wind power"}, headers=STREAM) as second,
    ):
        assert second.status_code == 200
        assert await first_lines(second, 2) == ["id: 1", "event: trace"]


async def first_lines(response: httpx.Response, count: int) -> list[str]:
    """The stream's first lines, read while the rest is still being written."""
    lines: list[str] = []
    async for line in response.aiter_lines():
        lines.append(line)
        if len(lines) == count:
            break
    return lines
