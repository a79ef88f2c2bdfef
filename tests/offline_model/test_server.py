"""The offline model speaks the Chat Completions protocol to the real ChatOpenAI client, honours
`max_tokens` and a context window as real servers do, and misanswers on request."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage, ToolMessage
from langchain_openai import ChatOpenAI
from pydantic import ValidationError

from agent import structured
from agent.nodes.research import collect_sources
from agent.prompts import blocks as prompt_blocks
from agent.research.sources import SourceLibrary
from agent.state import Outline, ReviewVerdict, Section, Source
from agent.tools import RESEARCH_TOOLS
from cli.settings import Settings
from offline_model import tokens
from offline_model.server import (
    DEFAULT_CONTEXT_TOKENS,
    MODEL_NAME,
    NO_TOOLS,
    NOT_JSON,
    OVERLONG_REPEATS,
    create_app,
)
from service.failures import classify
from service.llm import OFFLINE_BASE_URL, context_window
from tests.agent.runs import tool_runtime

OUTLINE = Outline(
    title="Honeybees at Work",
    sections=[
        Section(heading="Pollination", question="How do bees pollinate?"),
        Section(heading="Colony life", question="How does a colony live?"),
    ],
    research_questions=["honeybee pollination", "bee colony life"],
)


@pytest.fixture
def server_app():
    return create_app()


@pytest.fixture
def llm(server_app) -> ChatOpenAI:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=server_app), base_url=OFFLINE_BASE_URL
    )
    return ChatOpenAI(
        model=MODEL_NAME,
        api_key="offline",
        base_url=OFFLINE_BASE_URL,
        http_async_client=client,
        max_retries=2,
        stream_usage=True,
    )


@pytest.fixture
async def client(server_app):
    transport = httpx.ASGITransport(app=server_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
        yield client


@pytest.fixture(scope="module")
def library() -> SourceLibrary:
    return SourceLibrary(Settings(_env_file=None).sources_dir)


def found_sources(library: SourceLibrary, query: str) -> list[Source]:
    hits = library.search(query, 6)
    artifact = [
        {
            "source_id": h.passage.source_id,
            "title": h.passage.title,
            "section": h.passage.section,
            "text": h.passage.text,
        }
        for h in hits
    ]
    return collect_sources([ToolMessage("x", tool_call_id="1", artifact=artifact)])


def draft_text(library: SourceLibrary) -> str:
    """The draft node's variables, and no prose: the blocks are all the model reads."""
    outline = prompt_blocks.outline_block(OUTLINE, "Honeybees", 300)
    sources = prompt_blocks.sources_block(found_sources(library, "honeybee pollination"))
    return f"{outline}\n\n{sources}"


def user(text: str, **request: Any) -> dict[str, Any]:
    return {"model": MODEL_NAME, "messages": [{"role": "user", "content": text}], **request}


def offered(*names: str) -> list[dict[str, Any]]:
    schema = {"type": "object", "properties": {}}
    return [{"type": "function", "function": {"name": n, "parameters": schema}} for n in names]


def plan_request(library: SourceLibrary, **request: Any) -> dict[str, Any]:
    background = prompt_blocks.background_block(
        library.search("urban heat islands", 8), "Urban heat"
    )
    return user(background, response_format=structured.response_format(Outline), **request)


def research_request(**request: Any) -> dict[str, Any]:
    questions = prompt_blocks.list_block(["bee colony life", "crop pollination"], "questions")
    return user(questions, tools=offered("search_sources", "read_source"), **request)


async def complete(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/v1/chat/completions", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def stream(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[str, str | None]:
    """The streamed text and the finish reason of its last chunk."""
    text, finish = "", None
    async with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: {"):
                for choice in json.loads(line[len("data: ") :])["choices"]:
                    text += choice["delta"].get("content") or ""
                    finish = choice["finish_reason"] or finish
    return text, finish


async def plan_faults(client: httpx.AsyncClient, **plan: Any) -> None:
    (await client.post("/admin/faults", json=plan)).raise_for_status()


# --- the protocol --------------------------------------------------------------------------


async def test_plain_and_streamed_answers_match_and_count_tokens(llm, library) -> None:
    messages = [SystemMessage("Write."), HumanMessage(draft_text(library))]
    whole = await llm.ainvoke(messages)
    assert whole.text.startswith("# Honeybees at Work")
    assert "## Pollination" in whole.text and "[1]" in whole.text
    assert whole.response_metadata["finish_reason"] == "stop"

    chunks: list[AIMessageChunk] = [chunk async for chunk in llm.astream(messages)]
    assert len(chunks) > 50  # one chunk per word
    streamed = chunks[0]
    for chunk in chunks[1:]:
        streamed += chunk
    assert streamed.text == whole.text
    # Documented token rule: one token per whitespace-separated word.
    assert whole.usage_metadata["output_tokens"] == len(whole.text.split())
    prompt_words = sum(len(m.content.split()) for m in messages)
    assert whole.usage_metadata["input_tokens"] == prompt_words
    assert streamed.usage_metadata == whole.usage_metadata


async def test_tool_calls_come_from_the_research_questions(llm, library) -> None:
    tools = RESEARCH_TOOLS
    prompt = [
        HumanMessage(prompt_blocks.list_block(["bee colony life", "crop pollination"], "questions"))
    ]
    answer = await llm.bind_tools(tools).ainvoke(prompt)
    assert [(c["name"], c["args"]["query"]) for c in answer.tool_calls] == [
        ("search_sources", "bee colony life"),
        ("search_sources", "crop pollination"),
    ]


async def test_structured_output_follows_the_schema(llm, library) -> None:
    hits = library.search("urban heat islands", 8)
    outline = await llm.with_structured_output(Outline).ainvoke(
        [HumanMessage(prompt_blocks.background_block(hits, "Urban heat islands"))]
    )
    assert isinstance(outline, Outline)
    assert outline.title == "Urban Heat Islands"
    assert 2 <= len(outline.sections) <= 4
    assert len(outline.research_questions) == len(outline.sections)


async def test_the_review_decision_is_a_structured_answer_without_tools(llm) -> None:
    draft = prompt_blocks.draft_block("# Bees\n\nBees hum [1].\n\nThey sleep at night.", 6)
    verdict = await structured.ask(llm, [HumanMessage(draft)], ReviewVerdict, "review decision")
    assert verdict == ReviewVerdict(
        decision="revise",
        issues=["Paragraphs 2 cite no source: support them with citations."],
    )


async def test_injected_faults_are_retried_by_the_client(server_app, llm) -> None:
    server_app.state.model.plan.statuses = [429, 503]
    answer = await llm.ainvoke([HumanMessage("Hello")])
    assert "offline model" in answer.text
    assert server_app.state.model.faults_served == 2
    assert server_app.state.model.completions == 1


async def test_admin_endpoints(client) -> None:
    planned = await client.post("/admin/faults", json={"statuses": [500], "persistent": True})
    assert planned.json() == {"planned": [500], "persistent": True}
    for _ in range(3):
        failed = await client.post("/v1/chat/completions", json={"messages": []})
        assert failed.status_code == 500 and failed.json()["error"]["type"] == "server_error"
    stats = (await client.get("/admin/stats")).json()
    assert stats == {"completions": 0, "faults_served": 3, "answer_faults_served": 0}
    models = (await client.get("/v1/models")).json()
    assert models["data"][0]["id"] == MODEL_NAME
    assert models["data"][0]["context_length"] == DEFAULT_CONTEXT_TOKENS


async def test_an_unknown_task_or_mode_is_refused(client) -> None:
    for answers in ({"plan": ["gibberish"]}, {"summarise": ["length"]}):
        refused = await client.post("/admin/faults", json={"answers": answers})
        assert refused.status_code == 422


# --- max_tokens ----------------------------------------------------------------------------


async def test_an_answer_longer_than_max_tokens_is_cut_with_finish_reason_length(
    client, library
) -> None:
    body = user(draft_text(library))
    whole = (await complete(client, body))["choices"][0]["message"]["content"]
    expected = "".join(tokens.split_tokens(whole)[:25])

    for bound in ({"max_tokens": 25}, {"max_completion_tokens": 25}):
        cut = await complete(client, {**body, **bound})
        assert cut["choices"][0]["message"]["content"] == expected
        assert cut["choices"][0]["finish_reason"] == "length"
        assert cut["usage"]["completion_tokens"] == 25
    assert await stream(client, {**body, "max_tokens": 25}) == (expected, "length")
    # A bound the answer fits in changes nothing.
    fits = await complete(client, {**body, "max_tokens": 10_000})
    assert fits["choices"][0]["message"]["content"] == whole
    assert fits["choices"][0]["finish_reason"] == "stop"
    assert await stream(client, {**body, "max_tokens": 10_000}) == (whole, "stop")


async def test_tool_calls_that_do_not_fit_are_left_out(client) -> None:
    whole = await complete(client, research_request())
    calls = whole["choices"][0]["message"]["tool_calls"]
    assert len(calls) == 2
    first = tokens.count(calls[0]["function"]["arguments"])
    cut = await complete(client, research_request(max_tokens=first + 1))
    assert cut["choices"][0]["message"]["tool_calls"] == calls[:1]
    assert cut["choices"][0]["finish_reason"] == "length"


async def test_a_structured_answer_cut_short_raises_for_the_client(llm, library) -> None:
    asking = llm.bind(max_tokens=10, response_format=structured.response_format(Outline))
    background = prompt_blocks.background_block(library.search("urban heat", 8), "Urban heat")
    with pytest.raises(openai.LengthFinishReasonError):  # as `agent.structured` expects
        await asking.ainvoke([HumanMessage(background)])


# --- the context window --------------------------------------------------------------------


async def test_a_prompt_longer_than_the_context_is_refused_as_openai_does(
    client, llm, library
) -> None:
    await plan_faults(client, context_tokens=50)
    models = (await client.get("/v1/models")).json()
    assert models["data"][0]["context_length"] == 50
    assert await context_window(llm) == 50  # what the app reads of it

    body = plan_request(library)
    words = tokens.prompt_tokens(body["messages"])
    refused = await client.post("/v1/chat/completions", json=body)
    assert refused.status_code == 400
    assert refused.json() == {
        "error": {
            "message": f"This model's maximum context length is 50 tokens. However, your "
            f"messages resulted in {words} tokens.",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        }
    }
    with pytest.raises(openai.BadRequestError) as raised:
        await llm.ainvoke(body["messages"][0]["content"])
    assert classify(raised.value) == "context_too_small"
    short = await complete(client, user("Hello"))
    assert "offline model" in short["choices"][0]["message"]["content"]
    stats = (await client.get("/admin/stats")).json()
    assert stats["completions"] == 1


# --- answer faults -------------------------------------------------------------------------


async def test_invalid_json_is_prose_where_json_was_asked(client, library) -> None:
    decision = user(
        prompt_blocks.draft_block("# Bees\n\nBees hum [1].", 3),
        response_format=structured.response_format(ReviewVerdict),
    )
    await plan_faults(client, answers={"plan": ["invalid_json"], "decision": ["invalid_json"]})
    for body in (plan_request(library), decision):
        choice = (await complete(client, body))["choices"][0]
        assert choice["message"]["content"] == NOT_JSON
        assert choice["finish_reason"] == "stop"
    # One mode per call: the next calls answer as usual.
    Outline.model_validate_json(
        (await complete(client, plan_request(library)))["choices"][0]["message"]["content"]
    )
    assert (await client.get("/admin/stats")).json()["answer_faults_served"] == 2


async def test_no_tool_calls_is_text_where_tools_were_offered(client) -> None:
    await plan_faults(client, answers={"research": ["no_tool_calls"]})
    choice = (await complete(client, research_request()))["choices"][0]
    assert choice["message"]["content"] == NO_TOOLS
    assert "tool_calls" not in choice["message"]
    assert choice["finish_reason"] == "stop"
    again = (await complete(client, research_request()))["choices"][0]
    assert again["finish_reason"] == "tool_calls"


async def test_bad_tool_args_are_calls_the_tools_cannot_serve(client, library) -> None:
    await plan_faults(client, answers={"research": ["bad_tool_args"]})
    choice = (await complete(client, research_request()))["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    calls = [
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for c in choice["message"]["tool_calls"]
    ]
    assert calls == [("search_sources", {"q": 3}), ("read_source", {"source_id": "no-such-source"})]
    search, read, _ = RESEARCH_TOOLS
    runtime = tool_runtime(library)
    with pytest.raises(ValidationError):  # no query
        search.invoke({**calls[0][1], "runtime": runtime})
    assert "No source has id" in read.invoke({**calls[1][1], "runtime": runtime})


async def test_length_cuts_the_answer_to_half(client, library) -> None:
    whole = (await complete(client, plan_request(library)))["choices"][0]["message"]["content"]
    await plan_faults(client, answers={"plan": ["length"]})
    choice = (await complete(client, plan_request(library)))["choices"][0]
    half = tokens.split_tokens(whole)[: tokens.count(whole) // 2]
    assert choice["message"]["content"] == "".join(half)
    assert choice["finish_reason"] == "length"
    with pytest.raises(ValidationError):
        Outline.model_validate_json(choice["message"]["content"])


async def test_overlong_runs_on_until_max_tokens_stops_it(client, library) -> None:
    body = user(draft_text(library))
    whole = (await complete(client, body))["choices"][0]["message"]["content"]
    await plan_faults(client, answers={"draft": ["overlong", "overlong", "overlong"]})
    choice = (await complete(client, body))["choices"][0]
    assert choice["message"]["content"] == "\n\n".join([whole] * OVERLONG_REPEATS)
    assert choice["finish_reason"] == "stop"

    bound = tokens.count(whole) * 2
    choice = (await complete(client, {**body, "max_tokens": bound}))["choices"][0]
    assert tokens.count(choice["message"]["content"]) == bound
    assert choice["finish_reason"] == "length"
    text, finish = await stream(client, {**body, "max_tokens": bound})
    assert (text, finish) == (choice["message"]["content"], "length")


async def test_answer_faults_are_per_task(client, library) -> None:
    await plan_faults(client, answers={"plan": ["invalid_json", "length"]})
    research = (await complete(client, research_request()))["choices"][0]
    assert research["finish_reason"] == "tool_calls"  # another task: untouched
    first, second, third = [
        (await complete(client, plan_request(library)))["choices"][0] for _ in range(3)
    ]
    assert first["message"]["content"] == NOT_JSON
    assert second["finish_reason"] == "length"
    assert third["finish_reason"] == "stop"
    Outline.model_validate_json(third["message"]["content"])


@pytest.mark.parametrize("stream", [False, True])
async def test_a_first_token_wait_holds_back_the_answer_like_a_hosted_model(stream: bool) -> None:
    transport = httpx.ASGITransport(app=create_app(first_token_ms=300))
    async with httpx.AsyncClient(transport=transport, base_url="http://m") as slow:
        started = time.perf_counter()
        answer = await slow.post(
            "/v1/chat/completions", json={**user("Hello"), "model": MODEL_NAME, "stream": stream}
        )
        waited = time.perf_counter() - started
    assert answer.status_code == 200
    assert waited >= 0.3  # a lower bound only: a busy machine may take longer, never less
