"""review: the editor measures the draft with its tools (a round each time), then decides;
a decision it cannot give readably lets the draft through, and says so."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from agent import citations
from agent.context import WriterContext
from agent.nodes import review
from agent.nodes.review import DECIDE, UNREADABLE, decide
from agent.research.sources import SourceLibrary
from agent.state import ArticleState, ReviewVerdict
from offline_model.server import NO_TOOLS
from tests.agent.nodes.conftest import (
    OfflineModel,
    apply,
    found_by_search,
    run_node,
    run_tools,
)

CLEAN = (
    "# Honeybees\n\nHoneybees carry pollen between the flowers of many food crops [1].\n\n"
    "## Colonies\n\nA colony keeps thousands of workers foraging through the summer [2]."
)
FLAWED = CLEAN + "\n\nBees dream of clover meadows at night.\n\nQueens rule the hive alone [9]."
TOOLS = {"word_count", "readability", "check_citations"}


def drafted(library: SourceLibrary, text: str) -> ArticleState:
    return {
        "topic": "Honeybees",
        "audience": "gardeners",
        "tone": "clear",
        "target_words": citations.count_words(CLEAN),  # the clean draft is on length
        "sources": found_by_search(library, "honeybee colony pollination", 6)[:2],
        "draft": text,
    }


async def measured(state: ArticleState, runtime: Runtime[WriterContext]) -> ArticleState:
    """The state after the editor's first round: its tool calls, and what they answered."""
    state = apply(state, await run_node(review, state, runtime))
    return apply(
        state, {"review_messages": await run_tools(state["review_messages"][-1], state, runtime)}
    )


async def test_the_editor_first_measures_the_draft_with_its_tools(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    update = await run_node(review, drafted(library, CLEAN), runtime)

    opening, asked = update["review_messages"][:-1], update["review_messages"][-1]
    assert [type(m) for m in opening] == [SystemMessage, HumanMessage]
    assert "Colonies" in opening[-1].text  # the draft is in the editor's prompt
    assert isinstance(asked, AIMessage) and {c["name"] for c in asked.tool_calls} == TOOLS
    assert update["editor_rounds"] == 1
    assert "verdict" not in update  # no decision until the tools have answered


async def test_the_next_round_counts_on_from_the_state(
    runtime: Runtime[WriterContext], library: SourceLibrary
) -> None:
    state = apply(drafted(library, CLEAN), {"editor_rounds": 1})
    assert (await run_node(review, state, runtime))["editor_rounds"] == 2


@pytest.mark.parametrize(
    ("text", "decision", "named"),
    [
        (CLEAN, "finalize", []),
        (FLAWED, "revise", ["[9]", "Paragraphs 3 cite no source"]),
    ],
    ids=["clean", "flawed"],
)
async def test_after_measuring_the_editor_returns_its_verdict(
    runtime: Runtime[WriterContext],
    library: SourceLibrary,
    offline: OfflineModel,
    text: str,
    decision: str,
    named: list[str],
) -> None:
    state = await measured(drafted(library, text), runtime)

    update = await run_node(review, state, runtime)

    verdict = update["verdict"]
    assert isinstance(verdict, ReviewVerdict) and verdict.decision == decision
    assert all(any(n in issue for issue in verdict.issues) for n in named), verdict.issues
    assert bool(verdict.issues) == bool(named)
    assert "editor_rounds" not in update  # a verdict is no tool round
    assert [type(m) for m in update["review_messages"]] == [AIMessage]  # the history is kept
    # The verdict came with the editor's answer: no separate decision call was needed.
    assert (await offline.stats())["completions"] == 2


async def test_an_editor_that_measures_nothing_still_decides(
    runtime: Runtime[WriterContext], library: SourceLibrary, offline: OfflineModel
) -> None:
    await offline.misanswer(review=["no_tool_calls"])

    update = await run_node(review, drafted(library, FLAWED), runtime)

    assert update["review_messages"][-1].text == NO_TOOLS
    assert "editor_rounds" not in update
    assert update["verdict"].decision == "revise"  # asked for its decision, on the draft alone
    assert (await offline.stats())["completions"] == 2


async def test_an_unreadable_verdict_lets_the_draft_through_and_says_so(
    runtime: Runtime[WriterContext], library: SourceLibrary, offline: OfflineModel
) -> None:
    state = await measured(drafted(library, FLAWED), runtime)
    await offline.misanswer(review=["invalid_json"], decision=["invalid_json", "invalid_json"])

    update = await run_node(review, state, runtime)

    # The flawed draft would have been sent back; with no readable verdict it goes out.
    assert update["verdict"] == ReviewVerdict(decision="finalize", issues=[UNREADABLE])
    assert await offline.stats() == {
        "completions": 4,  # the call for its tools, then three that answered no verdict
        "faults_served": 0,
        "answer_faults_served": 3,
    }


@pytest.mark.parametrize("mode", ["invalid_json", "length"])
async def test_decide_retries_once_then_lets_the_draft_through(
    runtime: Runtime[WriterContext], library: SourceLibrary, offline: OfflineModel, mode: str
) -> None:
    state = await measured(drafted(library, FLAWED), runtime)
    conversation: list[BaseMessage] = [*state["review_messages"], DECIDE]
    llm = runtime.context.llm

    await offline.misanswer(decision=[mode])
    retried = await decide(llm, conversation)
    assert retried.decision == "revise" and UNREADABLE not in retried.issues

    await offline.misanswer(decision=[mode, mode])
    assert await decide(llm, conversation) == ReviewVerdict(
        decision="finalize", issues=[UNREADABLE]
    )
