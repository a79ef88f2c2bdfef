"""The prompt blocks survive a round trip: what the nodes write, the offline model reads."""

from agent import briefs
from agent.state import Outline, Section, Source, SourcePassage


def test_outline_and_sources_round_trip() -> None:
    outline = Outline(
        title="Bees",
        sections=[
            Section(heading="Colony life", question="How do bees live: together?"),
            Section(heading="Threats", question="What harms them?"),
        ],
        research_questions=["bee colonies"],
    )
    assert briefs.parse_outline(briefs.outline_block(outline)) == [
        ("Colony life", "How do bees live: together?"),
        ("Threats", "What harms them?"),
    ]

    sources = [
        Source(
            id="honeybees",
            title="Honeybees (Apis)",
            passages=[SourcePassage(section="Colony life", text="A colony\nhas a queen: one.")],
        )
    ]
    parsed = briefs.parse_sources(briefs.sources_block(sources))
    assert [(s.n, s.source_id, s.title) for s in parsed] == [(1, "honeybees", "Honeybees (Apis)")]
    assert parsed[0].passages[0].text == "A colony has a queen: one."


def test_blocks_are_found_by_label() -> None:
    prompt = (
        "Topic: Bees\n\nOutline:\n1. A: b?\n\nSources:\n[1] T (t)\n    S: x\n\nDraft:\n# T\n\nBody"
    )
    assert briefs.field(prompt, "Topic") == "Bees"
    assert briefs.block(prompt, "Outline") == "1. A: b?"
    assert briefs.block(prompt, "Draft") == "# T\n\nBody"
    assert briefs.block(prompt, "Issues") is None
