"""plan: an outline of what the library can support on the topic, and research questions."""

from __future__ import annotations

import pytest
from langgraph.runtime import Runtime

from agent.context import WriterContext
from agent.failures import Unwritable
from agent.nodes import plan
from agent.nodes.plan import background
from agent.research import grounding
from agent.research.sources import SourceLibrary
from agent.state import ArticleState, Outline, Source
from tests.agent.nodes.conftest import ON_LIBRARY, OfflineModel, found_by_search, run_node

REQUEST: ArticleState = {
    "topic": ON_LIBRARY,
    "audience": "gardeners",
    "tone": "clear",
    "target_words": 300,
}


async def test_the_outline_promises_only_sections_the_library_can_support(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    update = await run_node(plan, REQUEST, runtime)

    assert set(update) == {"outline"}
    outline = update["outline"]
    assert isinstance(outline, Outline)
    assert library.terms(ON_LIBRARY) <= library.terms(outline.title)
    # Every heading is one the library's documents on the topic use...
    headings = {
        p.section
        for hit in background(library, ON_LIBRARY)
        for p in library.documents[hit.passage.source_id].passages
    }
    assert [s.heading for s in outline.sections if s.heading not in headings] == []
    # ...and what its research questions find grounds every section: coverage keeps them all.
    found: dict[str, Source] = {}
    for question in outline.research_questions:
        assert library.search(question, 1), f"the library has nothing for {question!r}"
        for source in found_by_search(library, question, 4):
            found.setdefault(source.id, source)
    coverage, kept, supported = grounding.assess(library, ON_LIBRARY, outline, list(found.values()))
    assert coverage.verdict == "covered", coverage
    assert supported.sections == outline.sections and coverage.sections_dropped == []
    assert "honeybees" in [s.id for s in kept]


async def test_an_unreadable_outline_is_asked_for_once_more(
    runtime: Runtime[WriterContext], offline: OfflineModel
) -> None:
    await offline.misanswer(plan=["invalid_json"])

    update = await run_node(plan, REQUEST, runtime)

    assert len(update["outline"].sections) >= 2
    assert await offline.stats() == {
        "completions": 2,  # the refused answer, and the retry that parsed
        "faults_served": 0,
        "answer_faults_served": 1,
    }


@pytest.mark.parametrize("mode", ["invalid_json", "length"])
async def test_a_model_that_twice_answers_no_outline_ends_the_run_as_a_model_error(
    runtime: Runtime[WriterContext], offline: OfflineModel, mode: str
) -> None:
    await offline.misanswer(plan=[mode, mode])

    with pytest.raises(Unwritable) as refused:
        await run_node(plan, REQUEST, runtime)

    assert refused.value.code == "model_error"
    assert "plan could not be used" in str(refused.value)
    assert (await offline.stats())["completions"] == 2
