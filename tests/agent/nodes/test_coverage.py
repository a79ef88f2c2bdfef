"""coverage: keeps the sources on the topic and the sections they support; no sources on the
topic, no article (verdict none); sources research missed are searched for once more."""

from __future__ import annotations

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.runtime import Runtime

from agent.context import WriterContext
from agent.nodes import coverage
from agent.research.sources import SourceLibrary
from agent.state import ArticleState, Coverage, Source
from tests.agent.nodes.conftest import (
    OFF_LIBRARY,
    ON_LIBRARY,
    found_by_search,
    outline,
    run_node,
)

BRIDGES = "How do suspension bridges stay up?"


def researched(topic: str, headings: list[str], sources: list[Source]) -> ArticleState:
    return {
        "topic": topic,
        "audience": "general readers",
        "tone": "clear",
        "target_words": 300,
        "outline": outline(topic, headings, [topic]),
        "sources": sources,
        "research_messages": [],
    }


async def test_on_topic_sources_are_kept_and_off_topic_ones_dropped(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    on_topic = found_by_search(library, BRIDGES)
    off_topic = found_by_search(library, "sourdough fermentation", 2)[:1]
    assert off_topic[0].id not in [s.id for s in on_topic]
    state = researched(BRIDGES, ["Cables and towers", "Early history"], on_topic + off_topic)

    update = await run_node(coverage, state, runtime)

    found = update["coverage"]
    assert isinstance(found, Coverage) and found.verdict in ("covered", "partial")
    kept = [s.id for s in update["sources"]]
    assert "suspension-bridges" in kept and off_topic[0].id not in kept
    assert off_topic[0].id in [s.id for s in found.dropped]
    assert [s.id for s in found.kept] == kept  # the sources the draft may cite, in order
    assert "research_messages" not in update  # research found enough: no search of its own


async def test_a_section_no_kept_source_speaks_to_is_dropped_from_the_outline(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    state = researched(
        BRIDGES, ["Early history", "Blameless postmortems"], found_by_search(library, BRIDGES)
    )

    update = await run_node(coverage, state, runtime)

    assert [s.heading for s in update["outline"].sections] == ["Early history"]
    assert update["coverage"].verdict == "partial"
    assert update["coverage"].sections_dropped == ["Blameless postmortems"]


async def test_a_plan_the_sources_cannot_support_follows_the_sources_own_sections(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    # What SmolLM2-135M planned for "Vaccines and immunity" in real runs: markup, and headings
    # about the prompt rather than the topic. The library does cover the topic.
    topic = "Vaccines and immunity"
    document = library.get("vaccines-and-immunity")
    assert document is not None
    own = {p.section for p in document.passages}
    for planned in (["Background passages", "Research questions"], ["#", "<pre><code>", "##"]):
        state = researched(topic, planned, found_by_search(library, topic))

        update = await run_node(coverage, state, runtime)

        found = update["coverage"]
        assert found.verdict == "partial" and found.outline_from_sources
        assert [s.id for s in update["sources"]] == ["vaccines-and-immunity"]
        headings = [s.heading for s in update["outline"].sections]
        assert len(headings) >= 2 and set(headings) <= own, headings
        assert found.sections_dropped == planned  # said, not hidden


async def test_a_topic_the_library_lacks_gets_verdict_none_and_no_sources(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    met = found_by_search(library, OFF_LIBRARY)
    assert met  # research did meet documents (on "architecture"), none of them on castles
    state = researched(OFF_LIBRARY, ["Castle walls", "Keeps and towers"], met)

    update = await run_node(coverage, state, runtime)

    found = update["coverage"]
    assert found.verdict == "none" and found.kept == [] and update["sources"] == []
    assert {s.id for s in found.dropped} == {s.id for s in met}
    assert "castle" in found.missing_terms  # the topic word no source holds
    assert found.closest  # what the library holds nearest, for the answer to name
    assert "research_messages" not in update  # nothing in the library to search again for


async def test_documents_research_missed_are_read_before_saying_no(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    # Research searched for the wrong thing: what it met is about something else.
    state = researched(
        ON_LIBRARY,
        ["Pollinators and agriculture", "Threats and management"],
        found_by_search(library, "incident response postmortems", 2),
    )

    update = await run_node(coverage, state, runtime)

    read, *results = update["research_messages"]
    assert isinstance(read, AIMessage) and read.name == "research_fallback"
    assert {c["name"] for c in read.tool_calls} == {"read_source"}
    assert "honeybees" in [c["args"]["source_id"] for c in read.tool_calls]
    assert results and all(isinstance(m, ToolMessage) for m in results)
    assert update["coverage"].verdict in ("covered", "partial")
    kept = [s.id for s in update["sources"]]
    assert "honeybees" in kept and "incident-response" not in kept
