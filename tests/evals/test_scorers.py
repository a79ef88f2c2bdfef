"""Every code scorer on a crafted good article and a crafted bad one: both outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.entities import SpanType, Trace

from evals import scorers

GOOD_MARKDOWN = """# Honeybees at Work

Honeybees are social insects that live in colonies of tens of thousands of workers [1].

## Colony life

A colony in summer holds between twenty and sixty thousand worker bees, which clean cells,
feed larvae and guard the entrance [1]. Drones are the males of the colony [1].

## Pollination

Pollen sticks to the branched hairs on a bee's body and moves from flower to flower as the bee
forages [2]. Many fruit and nut crops depend on visits from pollinators like these [2].

## Threats

Varroa mites feed on bees and spread viruses between them [1]."""
GOOD = {
    "article": {
        "title": "Honeybees at Work",
        "markdown": GOOD_MARKDOWN,
        "sections": [
            {"heading": h, "markdown": "..."} for h in ("Colony life", "Pollination", "Threats")
        ],
        "references": [
            {"n": 1, "source_id": "honeybees", "title": "Honeybees"},
            {"n": 2, "source_id": "pollination", "title": "Pollination"},
        ],
        "word_count": 95,
    }
}
BAD = {
    "article": {
        "title": "",
        "markdown": "# Bees\n\nBees are great [3].\n\nThey are everywhere and nobody knows why, "
        "notwithstanding multitudinous extraordinarily complicated institutional "
        "considerations.",
        "sections": [],
        "references": [{"n": 1, "source_id": "volcanoes", "title": "Volcanoes"}],
        "word_count": 20,
    }
}


@pytest.fixture
def make_trace(tmp_path: Path) -> Iterator[Callable[..., Trace]]:
    """Real traces in a local store, shaped like the app's: research TOOL spans and state."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/scorers.db")
    # Its own experiment: an active one left by an earlier test names another store's.
    mlflow.set_experiment("scorers")
    mlflow.tracing.enable()

    def make(searches: list[str], found: list[str], rounds: int = 2) -> Trace:
        with mlflow.start_span("write_article", span_type=SpanType.AGENT) as root:
            for query in searches:
                with mlflow.start_span("search_sources", span_type=SpanType.TOOL) as tool:
                    tool.set_inputs({"query": query, "k": 4})
                    hits = [
                        {"source_id": s, "title": s, "section": "x", "text": "y"} for s in found
                    ]
                    tool.set_outputs({"content": json.dumps(hits), "artifact": hits})
            with mlflow.start_span("research.state") as state:
                state.set_attribute("state.research_rounds", rounds)
        mlflow.flush_trace_async_logging()
        trace = mlflow.get_trace(root.trace_id)
        assert trace is not None
        return trace

    yield make
    mlflow.set_tracking_uri(previous)


def test_citation_validity(make_trace: Callable[..., Trace]) -> None:
    trace = make_trace(["bees", "pollen"], ["honeybees", "pollination"])
    assert scorers.citation_validity(outputs=GOOD, trace=trace).value is True
    bad = scorers.citation_validity(outputs=BAD, trace=trace)
    assert bad.value is False
    assert "[3] name no reference" in bad.rationale and "volcanoes" in bad.rationale


def test_citation_coverage() -> None:
    assert scorers.citation_coverage(outputs=GOOD).value == 1.0
    bad = scorers.citation_coverage(outputs=BAD)
    assert bad.value == 0.5 and "[2]" in bad.rationale


def test_length_within_target() -> None:
    assert scorers.length_within_target(inputs={"target_words": 100}, outputs=GOOD).value
    short = scorers.length_within_target(inputs={"target_words": 600}, outputs=GOOD)
    assert short.value is False and "95 words for a target of 600" in short.rationale


def test_structure() -> None:
    assert scorers.structure(outputs=GOOD).value is True
    assert scorers.structure(outputs=BAD).value is False


def test_readability_band() -> None:
    assert scorers.readability_band(outputs=GOOD).value is True
    dense = scorers.readability_band(outputs=BAD)
    assert dense.value is False and "Flesch reading ease" in dense.rationale


def test_tool_call_efficiency(make_trace: Callable[..., Trace]) -> None:
    efficient = make_trace(["bees", "pollen"], ["honeybees"])
    assert scorers.tool_call_efficiency(trace=efficient).value is True
    wasteful = make_trace(["bees", "bees", "pollen"], ["honeybees"])
    result = scorers.tool_call_efficiency(trace=wasteful)
    assert result.value is False and "1 repeated" in result.rationale
    assert scorers.tool_call_efficiency(trace=make_trace([], [])).value is False


def test_tool_call_efficiency_holds_research_to_its_round_bound(
    make_trace: Callable[..., Trace], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAX_RESEARCH_ROUNDS", raising=False)
    at_bound = scorers.tool_call_efficiency(trace=make_trace(["bees"], ["honeybees"], rounds=3))
    assert at_bound.value is True and "3 research rounds of at most 3" in at_bound.rationale
    # Research asked for a fourth round of tools: the graph cut it off.
    over = make_trace(["bees", "pollen"], ["honeybees"], rounds=4)
    cut_off = scorers.tool_call_efficiency(trace=over)
    assert cut_off.value is False
    assert "4 research rounds of at most 3 (over the bound" in cut_off.rationale
    # The bound is the setting the evaluation runs with.
    monkeypatch.setenv("MAX_RESEARCH_ROUNDS", "5")
    assert scorers.tool_call_efficiency(trace=over).value is True


def test_expected_sources_used() -> None:
    wanted = {"expected_sources": ["honeybees", "pollination", "pesticides-and-pollinators"]}
    assert scorers.expected_sources_used(outputs=GOOD, expectations=wanted).value == 0.667
    assert scorers.expected_sources_used(outputs=BAD, expectations=wanted).value == 0.0


def test_latency_and_tokens_come_from_the_trace(make_trace: Callable[..., Trace]) -> None:
    trace = make_trace(["bees"], ["honeybees"])
    assert scorers.latency_seconds(trace=trace) == round(trace.info.execution_duration / 1000, 3)
    assert scorers.total_tokens(trace=trace) == 0  # no model call in this crafted trace


HONEYBEE_FACTS = {
    "expected_facts": [
        "A summer colony holds between twenty and sixty thousand worker bees.",
        "Varroa mites feed on bees and spread viruses.",
        "Pollen sticks to the branched hairs on a bee's body.",
        "A worker born in summer usually lives only about five to six weeks.",
    ]
}


def test_expected_facts_stated_names_the_fact_the_article_leaves_out() -> None:
    result = scorers.expected_facts_stated(outputs=GOOD, expectations=HONEYBEE_FACTS)
    assert result.value == 0.75
    assert result.rationale.startswith("3 of 4 expected facts stated; missing:")
    assert "five to six weeks" in result.rationale
    assert "colony holds" not in result.rationale and "Varroa" not in result.rationale
    assert scorers.expected_facts_stated(outputs=BAD, expectations=HONEYBEE_FACTS).value == 0.0


def test_a_fact_with_its_figures_wrong_is_not_stated() -> None:
    article = {"article": {"markdown": "# Bees\n\nA colony has 20,000 to 50,000 workers [1]."}}
    right = {"expected_facts": ["A colony has 20,000 to 50,000 workers."]}
    wrong = {"expected_facts": ["A colony has 20,000 to 60,000 workers."]}
    assert scorers.expected_facts_stated(outputs=article, expectations=right).value == 1.0
    missed = scorers.expected_facts_stated(outputs=article, expectations=wrong)
    assert missed.value == 0.0 and "60,000" in missed.rationale
