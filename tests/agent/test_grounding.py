"""The coverage gate on the bundled library: what is on the topic, and what is not."""

from __future__ import annotations

import pytest

from agent import grounding
from agent.settings import BUNDLED_SOURCES
from agent.sources import SourceLibrary
from agent.state import Outline, Section, Source

LIBRARY = SourceLibrary(BUNDLED_SOURCES)
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
    assert coverage.score <= 0.29
    assert coverage.closest  # the answer names what the library does hold
    message = grounding.no_sources_message(topic, coverage)
    assert topic in message and "SOURCES_DIR" in message and coverage.closest[0].id in message


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


def test_every_golden_topic_is_covered_by_its_expected_sources() -> None:
    import yaml

    cases = yaml.safe_load((BUNDLED_SOURCES.parents[1] / "evals" / "golden.yaml").read_text())
    for case in cases:
        topic = case["inputs"]["topic"]
        expected = case["expectations"]["expected_sources"]
        sources = [s for s in found_by_search(topic, 10) if s.id in expected] or [
            Source(id=expected[0], title=expected[0], passages=[])
        ]
        coverage, _, _ = grounding.assess(LIBRARY, topic, outline("A", "B"), sources)
        assert coverage.score >= 0.35, (topic, coverage.score)
