"""revise: the writer fixes the editor's issues; the verdict is cleared, the revision counted,
and the next review starts a conversation of its own."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.runtime import Runtime

from agent import citations
from agent.context import WriterContext
from agent.nodes import revise
from agent.research.sources import SourceLibrary
from agent.state import ArticleState, ReviewVerdict
from tests.agent.nodes.conftest import apply, found_by_search, run_node

FLAWED = (
    "# Honeybees\n\nHoneybees carry pollen between the flowers of many food crops [1].\n\n"
    "## Colonies\n\nA honeybee colony keeps thousands of workers foraging through summer [2].\n\n"
    "Worker honeybees forage for nectar and pollen on crops.\n\nQueens rule the hive [9]."
)
ISSUES = [
    "Citations [9] name no listed source: remove or correct them.",
    "Paragraphs 3 cite no source: support them with citations.",
]


def reviewed(library: SourceLibrary, target_words: int) -> ArticleState:
    """The state when the editor has sent the draft back (its second round of review)."""
    return {
        "topic": "Honeybees",
        "audience": "gardeners",
        "tone": "clear",
        "target_words": target_words,
        "sources": found_by_search(library, "honeybee colony pollination", 6)[:2],
        "draft": FLAWED,
        "review_messages": [HumanMessage("review this"), AIMessage("revise it")],
        "editor_rounds": 2,
        "verdict": ReviewVerdict(decision="revise", issues=ISSUES),
        "revisions": 1,
    }


async def test_revise_fixes_the_issues_and_hands_a_fresh_draft_to_review(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    state = reviewed(library, target_words=citations.count_words(FLAWED))

    update = await run_node(revise, state, runtime)

    text = update["draft"]
    report = citations.check(text, len(state["sources"]))
    assert report.invalid == [] and report.uncited_paragraphs == []  # both issues fixed
    assert "[9]" not in text and text.startswith("# Honeybees\n")
    assert update["verdict"] is None  # the old verdict must not route the new draft
    assert update["revisions"] == 2
    assert update["editor_rounds"] == 0
    after = apply(state, update)
    assert after["review_messages"] == []  # the next review starts afresh
    assert after["sources"] == state["sources"]


async def test_a_draft_short_of_its_target_is_lengthened_from_the_sources(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    state = reviewed(library, target_words=250)
    before = citations.count_words(FLAWED)

    update = await run_node(revise, state, runtime)

    after = citations.count_words(update["draft"])
    assert before < 0.5 * 250 and after > 2 * before  # closer to the target, by a long way
    report = citations.check(update["draft"], len(state["sources"]))
    assert report.invalid == [] and report.uncited_paragraphs == []


async def test_revise_runs_only_after_a_verdict(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    state = apply(reviewed(library, 100), {"verdict": None})
    with pytest.raises(AssertionError, match="only after a verdict"):
        await run_node(revise, state, runtime)
