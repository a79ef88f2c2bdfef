from agent.nodes.finalize import assemble
from agent.state import Source

SOURCES = [Source(id=f"s{i}", title=f"Source {i}", passages=[]) for i in range(1, 4)]


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
