"""draft: the article in Markdown, following the outline and citing only the listed sources."""

from __future__ import annotations

import re

import pytest
from langgraph.runtime import Runtime

from agent import citations
from agent.context import WriterContext, article_tokens
from agent.nodes import draft
from agent.nodes.finalize import assemble
from agent.research.sources import SourceLibrary
from agent.state import ArticleState
from tests.agent.nodes.conftest import (
    ON_LIBRARY,
    OfflineModel,
    apply,
    found_by_search,
    outline,
    run_node,
)

HEADINGS = ["Pollinators and agriculture", "Threats and management"]
TARGET = 300


@pytest.fixture
def covered(library: SourceLibrary) -> ArticleState:
    """The state coverage leaves for a topic the library covers."""
    sources = found_by_search(library, "honeybee crop pollination", 6)
    sources += found_by_search(library, "threats to honeybee colonies", 6)
    unique = list({s.id: s for s in sources}.values())
    return {
        "topic": ON_LIBRARY,
        "audience": "gardeners",
        "tone": "clear",
        "target_words": TARGET,
        "outline": outline("How Honeybees Pollinate Crops", HEADINGS, [ON_LIBRARY]),
        "sources": unique,
        "research_messages": [],
    }


async def test_the_draft_is_markdown_on_the_outline_citing_only_listed_sources(
    runtime: Runtime[WriterContext], covered: ArticleState
) -> None:
    update = await run_node(draft, covered, runtime)

    text = update["draft"]
    assert text.startswith("# How Honeybees Pollinate Crops\n")
    assert re.findall(r"^## (.+)$", text, re.M) == HEADINGS  # the outline's sections, in order
    sources = covered["sources"]
    report = citations.check(text, len(sources))
    assert report.cited and report.invalid == []  # every [n] names one of the listed sources
    assert report.uncited_paragraphs == []
    assert 0.5 * TARGET <= citations.count_words(text) <= 1.5 * TARGET
    # What finalize makes of it: an article whose references are those sources.
    article = assemble(text, sources, covered["outline"].title)
    assert {r.source_id for r in article.references} <= {s.id for s in sources}
    assert [s.heading for s in article.sections] == HEADINGS


async def test_the_draft_clears_research_s_conversation(
    runtime: Runtime[WriterContext], covered: ArticleState
) -> None:
    searched = apply(covered, {"research_messages": [("user", "search"), ("ai", "found")]})
    assert len(searched["research_messages"]) == 2

    update = await run_node(draft, searched, runtime)

    after = apply(searched, update)
    assert after["research_messages"] == []
    assert after["sources"] == covered["sources"]  # what research found stays, as sources


async def test_a_model_that_runs_on_is_cut_at_the_article_s_bound(
    runtime: Runtime[WriterContext], covered: ArticleState, offline: OfflineModel
) -> None:
    written = (await run_node(draft, covered, runtime))["draft"]
    await offline.misanswer(draft=["overlong"])  # the article eight times over

    update = await run_node(draft, covered, runtime)

    # The offline model counts a token a word: the answer stops at the node's bound.
    assert len(update["draft"].split()) <= article_tokens(TARGET)
    assert len(update["draft"].split()) < 4 * len(written.split())
    assert update["draft"].startswith(written[:200])
