"""The blocks the nodes write into prompt variables, exactly as `agent.prompts.blocks` says."""

from agent.prompts import blocks
from agent.research.sources import Hit, Passage
from agent.state import Outline, Section, Source

OUTLINE = Outline(
    title="Bees & wasps",
    sections=[
        Section(heading="Colony life", question="How do bees live: together?"),
        Section(heading="Threats", question="What harms\nthem?"),
    ],
    research_questions=["bee colonies"],
)


def test_the_outline_carries_title_topic_and_target_as_escaped_attributes() -> None:
    assert blocks.outline_block(OUTLINE, 'Bees "and" <wasps>', 600) == (
        '<outline title="Bees &amp; wasps" topic="Bees &quot;and&quot; &lt;wasps&gt;" '
        'target_words="600">\n'
        "1. Colony life: How do bees live: together?\n"
        "2. Threats: What harms them?\n"
        "</outline>"
    )


def bee(section: str, text: str) -> Passage:
    return Passage(source_id="honeybees", title="Honeybees (Apis)", section=section, text=text)


def test_background_lists_one_passage_a_line() -> None:
    hit = Hit(
        Passage(
            source_id="bees", title="Bees", section="Colony life", text="A colony\nhas a queen."
        ),
        1.0,
    )
    assert blocks.background_block([hit], "Bees") == (
        '<background topic="Bees">\n'
        "- [bees] Bees / Colony life: A colony has a queen.\n"
        "</background>"
    )
    assert blocks.background_block([], "Bees") == (
        '<background topic="Bees">\n(no passages found)\n</background>'
    )


def test_lists_take_their_tag_from_the_caller() -> None:
    assert blocks.list_block(["bee colonies", "crop\npollination"], "questions") == (
        "<questions>\n- bee colonies\n- crop pollination\n</questions>"
    )
    assert blocks.list_block([], "issues") == "<issues>\n</issues>"


def test_sources_are_numbered_with_a_blank_line_between_them() -> None:
    sources = [
        Source(
            id="honeybees",
            title="Honeybees (Apis)",
            passages=[
                bee("Colony life", "A colony\nhas a queen: one."),
                bee("Swarming", "Colonies split."),
            ],
        ),
        Source(id="wasps", title="Wasps", passages=[]),
    ]
    assert blocks.sources_block(sources) == (
        "<sources>\n"
        "[1] Honeybees (Apis) (honeybees)\n"
        "    Colony life: A colony has a queen: one.\n"
        "    Swarming: Colonies split.\n"
        "\n"
        "[2] Wasps (wasps)\n"
        "</sources>"
    )
    assert blocks.sources_block([]) == "<sources>\n(no sources)\n</sources>"


def test_the_draft_carries_its_target() -> None:
    assert blocks.draft_block("# Bees\n\nThey hum [1].\n", 300) == (
        '<draft target_words="300">\n# Bees\n\nThey hum [1].\n</draft>'
    )
