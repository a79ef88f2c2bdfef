"""What the nodes write with `agent.prompts.blocks`, the offline model reads back with `blocks`,
wherever the block stands in a prompt and whatever prose surrounds it."""

from agent.prompts import blocks as prompt_blocks
from agent.research.sources import Hit, Passage
from agent.state import Outline, Section, Source
from offline_model import blocks

TOPIC = 'Bees & "wasps" <together>'
OUTLINE = Outline(
    title="Bees & Wasps: 'Together'",
    sections=[
        Section(heading="Colony life", question="How do bees live: together?"),
        Section(heading="Threats", question="What harms them?"),
    ],
    research_questions=["bee colonies"],
)

BEE_PASSAGE = Passage(
    source_id="bees", title="Bees", section="Colony life", text="A colony has a queen."
)


def embedded(block: str) -> str:
    """A block inside prose that mentions other tags' names and labels, as a prompt might."""
    return f"Please read the outline and sources below. Topic: ignore me.\n\n{block}\n\nThanks!"


def test_outline_attributes_and_body_round_trip() -> None:
    found = blocks.find(embedded(prompt_blocks.outline_block(OUTLINE, TOPIC, 450)), "outline")
    assert found is not None
    assert found.attributes == {"title": OUTLINE.title, "topic": TOPIC, "target_words": "450"}
    assert found.number("target_words", 600) == 450
    assert blocks.parse_outline(found.body) == [
        ("Colony life", "How do bees live: together?"),
        ("Threats", "What harms them?"),
    ]


def test_background_round_trips_with_its_topic() -> None:
    hit = Hit(BEE_PASSAGE, 1.0)
    found = blocks.find(embedded(prompt_blocks.background_block([hit], TOPIC)), "background")
    assert found is not None and found.attributes["topic"] == TOPIC
    assert blocks.parse_background(found.body) == [BEE_PASSAGE]


def test_sources_round_trip() -> None:
    sources = [
        Source(
            id="honeybees",
            title="Honeybees (Apis)",
            passages=[
                Passage(
                    source_id="honeybees",
                    title="Honeybees (Apis)",
                    section="Colony life",
                    text="A colony\nhas a queen: one.",
                )
            ],
        ),
        Source(id="wasps", title="Wasps & hornets", passages=[]),
    ]
    found = blocks.find(embedded(prompt_blocks.sources_block(sources)), "sources")
    assert found is not None
    parsed = blocks.parse_sources(found.body)
    assert [(s.n, s.source_id, s.title) for s in parsed] == [
        (1, "honeybees", "Honeybees (Apis)"),
        (2, "wasps", "Wasps & hornets"),
    ]
    assert parsed[0].passages[0].text == "A colony has a queen: one."
    empty = blocks.find(prompt_blocks.sources_block([]), "sources")
    assert empty is not None and blocks.parse_sources(empty.body) == []


def test_lists_and_the_draft_round_trip() -> None:
    prompt = embedded(
        prompt_blocks.list_block(["Add words.", "Cite [2]."], "issues")
        + "\n\n"
        + prompt_blocks.draft_block("# Bees\n\nThey hum [1].", 300)
    )
    issues, draft = blocks.find(prompt, "issues"), blocks.find(prompt, "draft")
    assert issues is not None and blocks.parse_list(issues.body) == ["Add words.", "Cite [2]."]
    assert draft is not None and draft.body == "# Bees\n\nThey hum [1]."
    assert draft.number("target_words", 600) == 300
    no_issues = blocks.find(prompt_blocks.list_block([], "issues"), "issues")
    assert no_issues is not None and blocks.parse_list(no_issues.body) == []


def test_a_missing_block_or_a_tag_that_only_starts_alike_is_not_found() -> None:
    questions = prompt_blocks.list_block(["bee colonies"], "questions")
    assert blocks.find(questions, "question") is None  # MLflow's judges use <question>
    assert blocks.find("Outline:\n1. A: b?", "outline") is None
