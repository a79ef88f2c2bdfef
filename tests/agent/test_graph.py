"""The graph's routing: which node runs next, from the state and the run's bounds."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph.state import CompiledStateGraph

from agent.context import Bounds
from agent.graph import after_coverage, after_research, after_review
from agent.state import Coverage, ReviewVerdict
from cli.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BOUNDS = Bounds(research_rounds=3, editor_rounds=2, revisions=2)
CALLS_A_TOOL = AIMessage("", tool_calls=[{"name": "search_sources", "args": {}, "id": "1"}])
ANSWERS = AIMessage("done")


@pytest.mark.parametrize(
    ("last", "rounds", "bounds", "then"),
    [
        (CALLS_A_TOOL, 1, BOUNDS, "research_tools"),
        (CALLS_A_TOOL, 3, BOUNDS, "research_tools"),  # the third round is still within
        (CALLS_A_TOOL, 4, BOUNDS, "coverage"),  # past the bound: stop asking, check coverage
        (CALLS_A_TOOL, 2, Bounds(research_rounds=1), "coverage"),  # this run's own bound
        (ANSWERS, 1, BOUNDS, "coverage"),
    ],
)
def test_research_calls_its_tools_until_it_answers_or_runs_out_of_rounds(
    last: AIMessage, rounds: int, bounds: Bounds, then: str
) -> None:
    state: Any = {"research_messages": [HumanMessage("go"), last], "research_rounds": rounds}
    assert after_research(state, bounds) == then


@pytest.mark.parametrize(("verdict", "then"), [("none", "__end__"), ("covered", "draft")])
def test_no_sources_on_the_topic_ends_the_run_before_any_draft(verdict: str, then: str) -> None:
    coverage = Coverage.model_construct(verdict=verdict)
    assert after_coverage({"coverage": coverage}, BOUNDS) == then  # type: ignore[typeddict-item]


def verdict(decision: str) -> ReviewVerdict:
    return ReviewVerdict.model_construct(decision=decision, issues=[])


@pytest.mark.parametrize(
    ("last", "editor_rounds", "decision", "revisions", "bounds", "then"),
    [
        (CALLS_A_TOOL, 1, None, 0, BOUNDS, "editor_tools"),
        (CALLS_A_TOOL, 3, "revise", 0, BOUNDS, "revise"),  # out of tool rounds: decide
        (ANSWERS, 1, "revise", 1, BOUNDS, "revise"),
        (ANSWERS, 1, "revise", 2, BOUNDS, "finalize"),  # revisions used up
        (ANSWERS, 1, "revise", 0, Bounds(revisions=0), "finalize"),  # this run allows none
        (ANSWERS, 1, "finalize", 0, BOUNDS, "finalize"),
        (ANSWERS, 1, None, 0, BOUNDS, "finalize"),  # no usable verdict: the draft goes out
    ],
)
def test_review_edits_with_tools_then_revises_within_its_bound_or_finalizes(
    last: AIMessage,
    editor_rounds: int,
    decision: str | None,
    revisions: int,
    bounds: Bounds,
    then: str,
) -> None:
    state: Any = {
        "review_messages": [HumanMessage("review"), last],
        "editor_rounds": editor_rounds,
        "verdict": verdict(decision) if decision else None,
        "revisions": revisions,
    }
    assert after_review(state, bounds) == then


def test_langgraph_json_names_the_module_graph_and_it_writes_an_article(
    offline_settings: Settings,
) -> None:
    """What `langgraph dev` and LangGraph Studio load: the path in langgraph.json, run here with
    a context built as Studio builds it, from nothing but the environment."""
    config = json.loads((ROOT / "langgraph.json").read_text())
    path, name = config["graphs"]["article-writer"].split(":")
    spec = importlib.util.spec_from_file_location("studio_graph", ROOT / path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as LangGraph's loader does: its dataclasses resolve names
    spec.loader.exec_module(module)
    loaded = getattr(module, name)
    assert isinstance(loaded, CompiledStateGraph) and loaded.name == "article-writer"
    assert set(loaded.get_graph().nodes) >= {"plan", "research", "coverage", "finalize"}

    state = {"topic": "How honeybees pollinate crops", "audience": "gardeners"}
    state |= {"tone": "clear", "target_words": 300}
    final = asyncio.run(loaded.ainvoke(state, context=loaded.context_schema()))
    assert final["article"].references and final["article"].word_count > 150
