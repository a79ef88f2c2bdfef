"""The source library: parsing Markdown into passages and ranking them with BM25."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.research.sources import SourceLibrary
from agent.settings import BUNDLED_SOURCES


@pytest.fixture(scope="module")
def bundled() -> SourceLibrary:
    return SourceLibrary(BUNDLED_SOURCES)


def test_the_bundled_corpus_is_large_and_varied(bundled: SourceLibrary) -> None:
    assert len(bundled.documents) >= 30
    assert "readme" not in {d.lower() for d in bundled.documents}
    for doc in bundled.documents.values():
        assert doc.title and len(doc.passages) >= 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("varroa mites in honeybee colonies", "honeybees"),
        ("neonicotinoid insecticides harm bees", "pesticides-and-pollinators"),
        ("Gutenberg movable type", "printing-press"),
        ("adenosine receptors and alertness", "caffeine"),
        ("spans and trace context propagation", "distributed-tracing"),
    ],
)
def test_search_ranks_the_right_document_first(
    bundled: SourceLibrary, query: str, expected: str
) -> None:
    hits = bundled.search(query, 5)
    assert hits[0].passage.source_id == expected
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_queries_with_no_known_term_find_nothing(bundled: SourceLibrary) -> None:
    assert bundled.search("the of and", 5) == []
    assert bundled.search("zzqxj", 5) == []


def test_a_users_own_folder(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "tea.md").write_text(
        "# Tea\n\nTea is brewed from leaves.\n\n## Green tea\n\nGreen tea is not oxidised.\n"
    )
    (tmp_path / "coffee.txt").write_text("Coffee is brewed from roasted beans.\n")
    library = SourceLibrary(tmp_path)
    assert set(library.documents) == {"notes/tea", "coffee"}
    tea = library.get("notes/tea")
    assert tea is not None and tea.title == "Tea"
    assert [p.section for p in tea.passages] == ["Overview", "Green tea"]
    assert library.get("coffee").title == "Coffee"  # type: ignore[union-attr]
    assert library.search("oxidised green", 2)[0].passage.source_id == "notes/tea"


def test_a_missing_or_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        SourceLibrary(tmp_path / "nope")
    with pytest.raises(ValueError, match="no readable"):
        SourceLibrary(tmp_path)
