"""research: the model searches and reads the library with its tools until it has evidence;
a model that makes no tool call still gets evidence, from the node's own searches."""

from __future__ import annotations

import dataclasses

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.runtime import Runtime

from agent.context import Limits, WriterContext, estimate_tokens
from agent.nodes import research
from agent.nodes.research import FALLBACK_K, RESEARCH_TOKENS
from agent.research.sources import SourceLibrary
from agent.state import ArticleState, Source
from offline_model.server import NO_TOOLS
from tests.agent.nodes.conftest import (
    ON_LIBRARY,
    OfflineModel,
    apply,
    outline,
    run_node,
    run_tools,
)

QUESTIONS = ["honeybee crop pollination", "threats to honeybee colonies"]
PLANNED: ArticleState = {
    "topic": ON_LIBRARY,
    "audience": "gardeners",
    "tone": "clear",
    "target_words": 300,
    "outline": outline(
        "How Honeybees Pollinate Crops",
        ["Pollinators and agriculture", "Threats and management"],
        QUESTIONS,
    ),
}


def tool_calls(message: object) -> list[tuple[str, dict[str, object]]]:
    assert isinstance(message, AIMessage)
    return [(call["name"], call["args"]) for call in message.tool_calls]


def assert_from_the_library(sources: list[Source], library: SourceLibrary) -> None:
    """Each source names a library document, by its title, with passages that document has."""
    assert sources
    for source in sources:
        document = library.get(source.id)
        assert document is not None, f"{source.id!r} is no library document"
        assert source.title == document.title
        texts = {p.text for p in document.passages}
        assert source.passages and all(p.text in texts for p in source.passages)


async def test_research_opens_by_searching_each_question(runtime: Runtime[WriterContext]) -> None:
    update = await run_node(research, PLANNED, runtime)

    opening, asked = update["research_messages"][:-1], update["research_messages"][-1]
    assert [type(m) for m in opening] == [SystemMessage, HumanMessage]
    assert all(q in opening[-1].text for q in QUESTIONS)  # the prompt lists the questions
    assert [(name, args["query"]) for name, args in tool_calls(asked)] == [
        ("search_sources", q) for q in QUESTIONS
    ]
    assert update["research_rounds"] == 1
    assert update["sources"] == []  # nothing is found until the tools have answered


async def test_research_searches_then_reads_and_keeps_what_the_library_holds(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    state = PLANNED
    calls: list[str] = []
    for _ in range(4):  # the graph's bound is 3 tool rounds; the offline model needs 2
        update = await run_node(research, state, runtime)
        state = apply(state, update)
        asked = state["research_messages"][-1]
        if not (isinstance(asked, AIMessage) and asked.tool_calls):
            break
        calls += [name for name, _ in tool_calls(asked)]
        state = apply(state, {"research_messages": await run_tools(asked, state, runtime)})
    else:
        raise AssertionError("research never stopped asking for tools")

    assert calls[: len(QUESTIONS)] == ["search_sources"] * len(QUESTIONS)
    assert "read_source" in calls[len(QUESTIONS) :]
    assert state["research_rounds"] == 2  # one per reply that asked for tools
    assert_from_the_library(state["sources"], library)
    ids = [s.id for s in state["sources"]]
    assert "honeybees" in ids and len(ids) == len(set(ids))
    # A document it read whole gave more than the passages its searches ranked.
    assert max(len(s.passages) for s in state["sources"]) > 1


async def test_a_model_that_calls_no_tool_still_gets_evidence(
    runtime: Runtime[WriterContext], offline: OfflineModel, library: SourceLibrary
) -> None:
    await offline.misanswer(research=["no_tool_calls"])

    update = await run_node(research, PLANNED, runtime)

    answered, searched, *results = update["research_messages"][2:]
    assert answered.text == NO_TOOLS and not tool_calls(answered)
    assert searched.name == "research_fallback"  # the node's own calls, said to be so
    wanted = [("search_sources", {"query": q, "k": FALLBACK_K}) for q in QUESTIONS]
    assert tool_calls(searched) == wanted
    assert [type(m) for m in results] == [ToolMessage] * len(QUESTIONS)
    assert update["research_rounds"] == 0  # the model asked for no tool round
    assert_from_the_library(update["sources"], library)
    assert "honeybees" in [s.id for s in update["sources"]]
    assert (await offline.stats())["completions"] == 1


async def test_research_ends_with_what_it_has_when_the_conversation_fills_the_context(
    runtime: Runtime[WriterContext], offline: OfflineModel, library: SourceLibrary
) -> None:
    first = await run_node(research, PLANNED, runtime)
    state = apply(PLANNED, first)
    state = apply(
        state,
        {"research_messages": await run_tools(state["research_messages"][-1], state, runtime)},
    )
    # A window the opening prompt (and an answer) fits in, and the search results do not.
    window = estimate_tokens(first["research_messages"][:2]) + RESEARCH_TOKENS
    narrow = dataclasses.replace(runtime.context, limits=Limits(4096, window))
    assert not narrow.fits(state["research_messages"], RESEARCH_TOKENS)

    update = await run_node(research, state, Runtime(context=narrow))

    assert set(update) == {"sources"}  # no new message: the last is a tool result, so it ends
    assert_from_the_library(update["sources"], library)
    assert (await offline.stats())["completions"] == 1  # the model was not asked again
