from agent import citations

DRAFT = """# Bees

Bees make honey [1]. They also pollinate crops [2].

## Colonies

A colony has one queen [1] [7].

Drones do not sting.
"""


def test_check_finds_invalid_numbers_and_uncited_paragraphs() -> None:
    report = citations.check(DRAFT, source_count=2)
    assert report.cited == [1, 2, 7]
    assert report.invalid == [7]
    assert report.uncited_paragraphs == [3]
    assert report.coverage == round(2 / 3, 3)


def test_words_are_counted_in_prose_only() -> None:
    assert citations.plain_text(DRAFT).startswith("Bees make honey. They")
    assert citations.count_words(DRAFT) == 3 + 4 + 5 + 4


def test_cited_keeps_order_of_first_appearance() -> None:
    assert citations.cited("a [3] b [1] c [3]") == [3, 1]
