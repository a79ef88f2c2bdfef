"""The coverage gate on the bundled library: what is on the topic, and what is not."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from agent.research import grounding
from agent.research.sources import SourceLibrary
from agent.settings import BUNDLED_SOURCES
from agent.state import Outline, Section, Source

LIBRARY = SourceLibrary(BUNDLED_SOURCES)
EVALS = BUNDLED_SOURCES.parents[1] / "evals"
OFF_LIBRARY = [
    "Medieval Japanese castle architecture",
    "The history of origami",
    "The rules of cricket",
    "Quantum computing for beginners",
    "How to train a puppy",
    "Kubernetes autoscaling explained",
    "How do black holes form?",
]


def found_by_search(topic: str, k: int = 8) -> list[Source]:
    """The sources a search for the topic meets, as research would collect them."""
    sources: dict[str, Source] = {}
    for hit in LIBRARY.search(topic, k):
        p = hit.passage
        source = sources.setdefault(p.source_id, Source(id=p.source_id, title=p.title, passages=[]))
        source.passages.append(p)
    return list(sources.values())


def sources_of(ids: list[str]) -> list[Source]:
    """Whole documents, as research would have met them."""
    return [
        Source(id=i, title=doc.title, passages=list(doc.passages[:5]))
        for i in ids
        if (doc := LIBRARY.get(i)) is not None
    ]


def outline(*headings: str) -> Outline:
    return Outline(
        title="T",
        sections=[Section(heading=h, question=f"What about {h}?") for h in headings],
        research_questions=["q"],
    )


@pytest.mark.parametrize("topic", OFF_LIBRARY)
def test_a_topic_the_library_lacks_is_not_covered(topic: str) -> None:
    coverage, kept, _ = grounding.assess(
        LIBRARY, topic, outline("One", "Two"), found_by_search(topic)
    )
    assert coverage.verdict == "none" and not kept
    assert coverage.score < coverage.needed
    assert all(not g.relevant and g.by == "rule" and g.reason for g in coverage.grades)
    message = grounding.no_sources_message(topic, coverage, LIBRARY.describe())
    assert topic in message and "SOURCES_DIR" in message
    if coverage.closest:  # the answer names what the library does hold, if anything
        assert coverage.closest[0].id in message
    else:
        assert "No document it holds shares a content word with the topic" in message
    assert f"the {len(LIBRARY.documents)} documents in" in message  # what was searched


def test_a_model_can_drop_a_source_the_rule_kept_and_the_verdict_follows() -> None:
    topic = "How do suspension bridges stay up?"
    found = found_by_search(topic)
    plan = outline("Cables and towers", "Early history")
    coverage, kept, _ = grounding.assess(LIBRARY, topic, plan, found)
    assert "suspension-bridges" in [s.id for s in kept]
    refused = {"suspension-bridges": (False, "the model: it is about something else")}

    coverage, kept, _ = grounding.assess(LIBRARY, topic, plan, found, refused)

    assert "suspension-bridges" not in [s.id for s in kept]
    grade = next(g for g in coverage.grades if g.id == "suspension-bridges")
    assert not grade.relevant and grade.by == "model"
    assert grade.reason == "the model: it is about something else"
    if coverage.verdict == "none":  # the answer says the model, not the library, said no
        message = grounding.no_sources_message(topic, coverage, LIBRARY.describe())
        assert "The model that grades sources judged" in message and "SOURCE_GRADER" in message


def test_a_covered_topic_keeps_its_sources_and_drops_unrelated_ones() -> None:
    topic = "How do suspension bridges stay up?"
    unrelated = found_by_search("incident response postmortems")[:1]
    coverage, kept, _ = grounding.assess(
        LIBRARY,
        topic,
        outline("Cables and towers", "Early history"),
        found_by_search(topic) + unrelated,
    )
    assert coverage.verdict in ("covered", "partial")
    assert "suspension-bridges" in [s.id for s in kept]
    assert unrelated[0].id not in [s.id for s in kept]
    assert unrelated[0].id in [s.id for s in coverage.dropped]


def test_a_section_no_kept_passage_speaks_to_is_dropped() -> None:
    topic = "How do suspension bridges stay up?"
    coverage, _, planned = grounding.assess(
        LIBRARY, topic, outline("Early history", "Blameless postmortems"), found_by_search(topic)
    )
    assert [s.heading for s in planned.sections] == ["Early history"]
    assert coverage.verdict == "partial" and coverage.sections_dropped == ["Blameless postmortems"]


@pytest.mark.parametrize(
    ("text", "heading"),
    [
        ("Introduction", True),
        ("How immunity works", True),
        ("<header title=", True),  # words, though not good ones: the support test judges them
        ("#", False),
        ("##", False),
        ("<pre><code>", False),
        ("&#390;", False),
        ("**", False),
        ("1.", False),
    ],
)
def test_a_heading_says_something_in_words(text: str, heading: bool) -> None:
    assert grounding.says_something(text) is heading


def test_sections_of_a_covered_topic_come_from_its_sources_when_the_plan_has_none() -> None:
    topic = "Vaccines and immunity"
    coverage, kept, planned = grounding.assess(
        LIBRARY, topic, outline("#", "&#390;"), found_by_search(topic)
    )
    assert [s.id for s in kept] == ["vaccines-and-immunity"]
    assert coverage.verdict == "partial" and coverage.outline_from_sources
    document = LIBRARY.get("vaccines-and-immunity")
    assert document is not None
    seen = [p.section for p in kept[0].passages]
    headings = [s.heading for s in planned.sections]
    assert headings[0] == seen[0]  # what research read comes first
    assert set(headings) <= {p.section for p in document.passages}
    assert len(headings) == len(set(headings)) <= grounding.MAX_SECTIONS


def test_a_plan_with_any_supported_section_is_kept() -> None:
    topic = "Vaccines and immunity"
    coverage, _, planned = grounding.assess(
        LIBRARY, topic, outline("How immunity works", "#"), found_by_search(topic)
    )
    assert [s.heading for s in planned.sections] == ["How immunity works"]
    assert not coverage.outline_from_sources and coverage.sections_dropped == ["#"]


GOLDEN = yaml.safe_load((EVALS / "golden.yaml").read_text())
LIMITS = {case["topic"] for case in yaml.safe_load((EVALS / "topics.yaml").read_text())["limits"]}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            marks=pytest.mark.xfail(
                case["inputs"]["topic"] in LIMITS,
                reason="a known limit of the word rule (evals/topics.yaml, limits)",
                strict=True,
            ),
        )
        for case in GOLDEN
    ],
    ids=lambda case: case["id"],
)
def test_every_golden_topic_is_covered_by_its_expected_sources(case: dict[str, Any]) -> None:
    topic = case["inputs"]["topic"]
    expected = case["expectations"]["expected_sources"]
    met = found_by_search(topic, 10)  # what a search for the topic meets, and the expected
    sources = met + [s for s in sources_of(expected) if s.id not in {m.id for m in met}]
    coverage, kept, _ = grounding.assess(LIBRARY, topic, outline("A", "B"), sources)
    assert coverage.verdict != "none", (topic, coverage.score, coverage.missing_terms)
    assert set(expected) & {s.id for s in kept}
