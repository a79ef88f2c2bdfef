import pytest
from langgraph.runtime import Runtime

from agent.context import WriterContext
from agent.failures import Unwritable
from agent.nodes.finalize import assemble, finalize
from agent.research.sources import Passage
from agent.state import ArticleState, Coverage, Source
from tests.agent.nodes.conftest import outline, run_node

# What every test source says: the specific words the drafts below use ("bees", "sourced").
SAID = "Bees pollinate; a hive has a queen. Sourced claims, and claims sourced too."
SOURCES = [
    Source(
        id=f"s{i}",
        title=f"Source {i}",
        passages=[Passage(source_id=f"s{i}", title=f"Source {i}", section="S", text=SAID)],
    )
    for i in range(1, 4)
]


def test_citations_are_renumbered_in_order_of_appearance() -> None:
    draft = "# Title\n\nIntro [3].\n\n## One\n\nA claim [2] and [9].\n\n## Two\n\nMore [3] [2]."
    article = assemble(draft, SOURCES, "Fallback")
    assert article.title == "Title"
    assert (
        article.markdown
        == "# Title\n\nIntro [1].\n\n## One\n\nA claim [2] and.\n\n## Two\n\nMore [1] [2]."
    )
    assert [(r.n, r.source_id) for r in article.references] == [(1, "s3"), (2, "s2")]
    assert [s.heading for s in article.sections] == ["One", "Two"]
    assert article.sections[1].markdown == "More [1] [2]."
    assert article.word_count == 5


def test_a_draft_without_a_title_uses_the_outline_title() -> None:
    assert assemble("Just text [1].", SOURCES, "Planned").title == "Planned"


def test_links_and_reference_lists_the_model_wrote_do_not_survive() -> None:
    draft = (
        "# Title\n\nBees pollinate [1]. See https://example.com/bees and "
        "[the guide](https://example.org/guide).\n\n## References\n\n1. https://fake.example\n"
        "2. Smith (2020)\n\n## Hives\n\nA hive has a queen [2]."
    )
    article = assemble(draft, SOURCES, "Fallback")
    assert "http" not in article.markdown and "References" not in article.markdown
    assert "the guide" in article.markdown  # a link's text stays, as prose
    assert [s.heading for s in article.sections] == ["Hives"]
    assert any("reference list" in note for note in article.notes)
    assert any("2 link(s)" in note for note in article.notes)


def test_paragraphs_citing_nothing_are_removed_and_said_to_be() -> None:
    draft = "# T\n\nSourced [1].\n\n## A\n\nInvented claim.\n\n## B\n\nSourced too [2]."
    article = assemble(draft, SOURCES, "T")
    assert "Invented" not in article.markdown
    assert [s.heading for s in article.sections] == ["B"]  # A lost its only paragraph
    assert "1 paragraph(s) citing no source were removed." in article.notes


def test_a_citation_whose_sentence_names_what_its_source_lacks_is_removed() -> None:
    draft = (
        "# T\n\nBees pollinate [1]. The Hornsdale battery opened in 2017 [2].\n\n"
        "## A\n\nA hive has a queen [3]."
    )
    article = assemble(draft, SOURCES, "T")
    assert "Bees pollinate [1]." in article.markdown and "queen [2]" in article.markdown
    assert "opened in 2017." in article.markdown  # the sentence stays, no longer cited
    note = next(n for n in article.notes if "citation(s) were removed" in n)
    assert note.startswith("1 citation(s)") and "2017" in note and "hornsdale" in note


def test_html_from_a_topic_a_model_or_a_source_never_reaches_the_article() -> None:
    draft = (
        "# <script>alert(1)</script> Bees\n\nBees pollinate [1] <img src=x onerror=alert(2)>."
        "\n\n## A <b>hive</b>\n\nA hive has a queen [2]. 3 < 4 [2]."
    )
    article = assemble(draft, SOURCES, "<script>alert(1)</script> Planned")
    for text in (article.title, article.markdown, *(s.heading for s in article.sections)):
        assert "<" not in text.replace("&lt;", ""), text
    assert "alert" not in article.markdown and article.title == "Bees"
    assert [s.heading for s in article.sections] == ["A hive"]
    assert any("HTML markup were removed" in n for n in article.notes)
    fallback = assemble("Bees pollinate [1].", SOURCES, "<script>alert(1)</script> Planned")
    assert fallback.title == "Planned"


def test_a_draft_whose_every_citation_is_unsupported_is_refused_saying_so() -> None:
    with pytest.raises(Unwritable) as refused:
        assemble("# T\n\nThe Hornsdale battery opened in 2017 [1].", SOURCES, "T")
    assert refused.value.code == "model_error"
    assert "only for what they do not say" in str(refused.value)


def test_a_draft_with_no_usable_citation_is_not_an_article() -> None:
    with pytest.raises(Unwritable) as refused:
        assemble("# T\n\nA claim [7]. Another, uncited.", SOURCES, "T")
    assert refused.value.code == "model_error" and "cited none of the 3" in str(refused.value)


async def test_the_notes_say_which_sections_were_left_out_and_whose_sections_serve(
    runtime: Runtime[WriterContext],
) -> None:
    found = Coverage(
        verdict="partial",
        score=0.9,
        kept=[],
        dropped=[],
        sections_dropped=["Background passages"],
        missing_terms=[],
        closest=[],
        outline_from_sources=True,
    )
    state: ArticleState = {
        "topic": "T",
        "outline": outline("Planned", ["How it works", "History"], ["q"]),
        "sources": SOURCES,
        "coverage": found,
        "draft": "# Title\n\n## How it works\n\nA claim [1].",
    }

    article = (await run_node(finalize, state, runtime))["article"]

    assert article.notes[:2] == [
        "None of the planned sections was one the sources could support, so the article "
        "follows the sources' own sections.",
        "Left out for lack of sources on them: Background passages.",
    ]
