from agent import readability


def test_plain_text_reads_easier_than_dense_text() -> None:
    plain = readability.measure("The cat sat on the mat. The dog ran to the park. We had fun.")
    dense = readability.measure(
        "Institutional heterogeneity substantially complicates intergovernmental coordination "
        "of environmental regulatory implementation across jurisdictions."
    )
    assert plain.reading_ease > 90 > 0 > dense.reading_ease
    assert plain.grade < 2 < 20 < dense.grade
    assert (plain.words, plain.sentences) == (15, 3)


def test_syllables_come_from_the_hyphenation_dictionary() -> None:
    assert readability.syllables("cat") == 1
    assert readability.syllables("pollination") == 4
    assert readability.measure("").reading_ease == 0.0
