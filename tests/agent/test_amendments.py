"""What a follow-up does to the article: each change checked against the article and the
library before anything is written, and refused, with what can be done, when it cannot be."""

from __future__ import annotations

import pytest

from agent import amendments
from agent.failures import Unwritable
from agent.research.sources import SourceLibrary
from agent.settings import BUNDLED_SOURCES
from agent.state import (
    Amendment,
    Article,
    ArticleSection,
    ArticleState,
    FollowUp,
    Outline,
    Section,
    Source,
)

HEADINGS = ["How panels work", "Falling costs", "Variability"]
DRAFT = "# Solar power\n\nIntro [1].\n\n" + "\n\n".join(
    f"## {h}\n\nAbout {h.lower()} [1]." for h in HEADINGS
)


@pytest.fixture(scope="module")
def library() -> SourceLibrary:
    return SourceLibrary(BUNDLED_SOURCES)


def state(words: int = 600, headings: list[str] = HEADINGS) -> ArticleState:
    article = Article(
        title="Solar power",
        markdown=DRAFT,
        sections=[ArticleSection(heading=h, markdown="...") for h in headings],
        references=[],
        word_count=words,
    )
    outline = Outline(
        title="Solar power",
        sections=[Section(heading=h, question="?") for h in headings],
        research_questions=["?"],
    )
    return {
        "topic": "Solar power",
        "audience": "general readers",
        "tone": "clear and neutral",
        "target_words": 600,
        "article": article,
        "outline": outline,
        "draft": DRAFT,
        "sources": [Source(id="solar-power", title="Solar Power", passages=[])],
    }


def apply(library: SourceLibrary, now: ArticleState, instruction: str = "x", **asked: object):
    follow_up = FollowUp(instruction=instruction, target_words=asked.pop("named", None))  # type: ignore[arg-type]
    return amendments.apply(Amendment(**asked), now, follow_up, library)  # type: ignore[arg-type]


def refused(library: SourceLibrary, now: ArticleState, **asked: object) -> Unwritable:
    with pytest.raises(Unwritable) as caught:
        apply(library, now, **asked)
    return caught.value


def test_shorter_and_longer_aim_at_a_share_of_the_article_or_the_length_named(
    library: SourceLibrary,
) -> None:
    assert apply(library, state(652), action="shorten")["target_words"] == 400
    assert apply(library, state(652), action="lengthen")["target_words"] == 1000
    assert apply(library, state(652), action="shorten", named=300)["target_words"] == 300
    update = apply(library, state(652), action="shorten")
    assert update["verdict"].decision == "revise" and update["amendment"].target_words == 400


def test_a_length_the_app_cannot_reach_is_refused(library: SourceLibrary) -> None:
    short = refused(library, state(150), action="shorten")
    assert short.code == "unrevisable" and "least this app writes is 150" in str(short)
    assert "shorten or lengthen" in str(short) and "unchanged" in str(short)
    assert "the most is 2000" in str(refused(library, state(2000), action="lengthen"))
    assert refused(library, state(400), action="shorten", named=500).code == "unrevisable"


def test_a_restyle_must_name_something_new(library: SourceLibrary) -> None:
    update = apply(library, state(), action="restyle", audience="children")
    assert (update["audience"], update["tone"]) == ("children", "clear and neutral")
    same = refused(library, state(), action="restyle", tone="clear and neutral")
    assert "no new tone or audience" in str(same)


def test_a_new_section_needs_a_source_that_covers_it(library: SourceLibrary) -> None:
    update = apply(library, state(), action="add_section", subject="grid storage")
    added = update["outline"].sections[-1]
    assert added.heading == "Grid storage"
    cited = [update["sources"][n - 1].id for n in update["amendment"].cite]
    assert "grid-storage" in cited
    assert update["sources"][0].id == "solar-power"  # [1] still names what it named
    assert update["target_words"] > 600  # room for the section

    castles = refused(library, state(), action="add_section", subject="medieval castles")
    assert castles.code == "no_sources" and "nothing on medieval castles" in str(castles)
    twice = refused(library, state(), action="add_section", subject="falling costs")
    assert "already has a section" in str(twice)
    full = [f"Part {n}" for n in range(6)]
    assert "6 sections" in str(
        refused(library, state(headings=full), action="add_section", subject="wind")
    )


def test_dropping_a_section_cuts_it_from_the_draft_with_nothing_to_write(
    library: SourceLibrary,
) -> None:
    update = apply(library, state(), action="drop_section", subject="costs")
    assert "## Falling costs" not in update["draft"] and "## Variability" in update["draft"]
    assert [s.heading for s in update["outline"].sections] == ["How panels work", "Variability"]
    assert update["verdict"] is None  # straight to the editor
    unknown = refused(library, state(), action="drop_section", subject="history")
    assert "its sections are: How panels work; Falling costs; Variability" in str(unknown)
    two = state(headings=HEADINGS[:2])
    assert "at least 2 sections" in str(
        refused(library, two, action="drop_section", subject="costs")
    )


def test_an_instruction_that_is_none_of_these_says_what_is(library: SourceLibrary) -> None:
    cannot = refused(library, state(), action="cannot")
    assert cannot.code == "unrevisable" and "add a section" in str(cannot)
