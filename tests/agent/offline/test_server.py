"""The offline model speaks the Chat Completions protocol to the real ChatOpenAI client."""

from __future__ import annotations

import httpx
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from agent import briefs
from agent.llm import OFFLINE_BASE_URL
from agent.offline.server import MODEL_NAME, create_app
from agent.settings import Settings
from agent.sources import SourceLibrary
from agent.state import Outline
from agent.tools import research_tools


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


@pytest.fixture(scope="module")
def library() -> SourceLibrary:
    return SourceLibrary(Settings(_env_file=None).sources_dir)


def draft_prompt(library: SourceLibrary) -> list:
    from langchain_core.messages import ToolMessage

    from agent.nodes.research import collect_sources

    hits = library.search("honeybee pollination", 6)
    artifact = [
        {
            "source_id": h.passage.source_id,
            "title": h.passage.title,
            "section": h.passage.section,
            "text": h.passage.text,
        }
        for h in hits
    ]
    sources = collect_sources([ToolMessage("x", tool_call_id="1", artifact=artifact)])
    return [
        SystemMessage("Write about 300 words."),
        HumanMessage(
            "Topic: Honeybees\nTitle: Honeybees at Work\n\nOutline:\n"
            "1. Pollination: How do bees pollinate?\n2. Colony life: How does a colony live?\n\n"
            f"Sources:\n{briefs.sources_block(sources)}"
        ),
    ]


async def test_plain_and_streamed_answers_match_and_count_tokens(llm, library) -> None:
    messages = draft_prompt(library)
    whole = await llm.ainvoke(messages)
    assert whole.text.startswith("# Honeybees at Work")
    assert "## Pollination" in whole.text and "[1]" in whole.text

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
    tools = research_tools(library)
    prompt = [
        HumanMessage("Topic: Bees\n\nResearch questions:\n- bee colony life\n- crop pollination")
    ]
    answer = await llm.bind_tools(tools).ainvoke(prompt)
    assert [(c["name"], c["args"]["query"]) for c in answer.tool_calls] == [
        ("search_sources", "bee colony life"),
        ("search_sources", "crop pollination"),
    ]


async def test_structured_output_follows_the_schema(llm, library) -> None:
    background = briefs.background_block(library.search("urban heat islands", 8))
    outline = await llm.with_structured_output(Outline).ainvoke(
        [HumanMessage(f"Topic: Urban heat islands\n\nBackground passages:\n{background}")]
    )
    assert isinstance(outline, Outline)
    assert outline.title == "Urban Heat Islands"
    assert 2 <= len(outline.sections) <= 4
    assert len(outline.research_questions) == len(outline.sections)


async def test_injected_faults_are_retried_by_the_client(server_app, llm) -> None:
    server_app.state.model.plan.statuses = [429, 503]
    answer = await llm.ainvoke([HumanMessage("Hello")])
    assert "offline model" in answer.text
    assert server_app.state.model.faults_served == 2
    assert server_app.state.model.completions == 1


async def test_admin_endpoints(server_app) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=server_app), base_url="http://m"
    ) as client:
        planned = await client.post("/admin/faults", json={"statuses": [500], "persistent": True})
        assert planned.json() == {"planned": [500], "persistent": True}
        for _ in range(3):
            failed = await client.post("/v1/chat/completions", json={"messages": []})
            assert failed.status_code == 500 and failed.json()["error"]["type"] == "server_error"
        stats = (await client.get("/admin/stats")).json()
        assert stats == {"completions": 0, "faults_served": 3}
        models = (await client.get("/v1/models")).json()
        assert models["data"][0]["id"] == MODEL_NAME
