"""The coverage rule on small sources made here: what makes a source about a topic, and not."""

from __future__ import annotations

from agent.research import subject
from agent.research.subject import Profile


def source(title: str, *passages: str, headings: tuple[str, ...] = ()) -> Profile:
    return Profile.of([title, *headings], passages)


def grade(topic: str, profile: Profile) -> subject.Grade:
    return subject.grade(subject.subject(topic), profile)


BREAD = source(
    "The History of Bread",
    "Bread is among the oldest prepared foods; its history runs from flatbreads to loaves.",
    "Bakers in Rome sold bread from public ovens, and bread prices were a political matter.",
    headings=("Bread in Rome", "Industrial bread"),
)


def test_request_words_and_stopwords_are_not_subject_matter() -> None:
    assert [w.text for w in subject.subject("Topic 4: how is paper made?").words] == ["paper"]
    words = subject.subject("Please explain the Calvin cycle for beginners").words
    assert [w.text for w in words] == ["calvin", "cycle"]


def test_a_word_rare_in_english_weighs_more_than_a_common_one() -> None:
    words = {w.text: w for w in subject.subject("The telescope and its glass").words}
    assert words["telescope"].specific and not words["glass"].specific
    assert words["telescope"].weight > 2 * words["glass"].weight
    framed = subject.subject("The history and invention of the telescope").words
    assert [w.text for w in framed] == ["telescope"]  # what frames a topic is not its subject
    unknown = subject.subject("kubernetesque autoscaling").words[0]
    assert unknown.specific and unknown.weight == max(w.weight for w in [unknown])


def test_a_generic_word_shared_with_a_source_does_not_make_it_about_the_topic() -> None:
    assert grade("The history of bread", BREAD).relevant
    for topic in ("The history of the bicycle", "The invention of the telescope"):
        found = grade(topic, BREAD)
        assert not found.relevant, (topic, found)


def test_a_compound_of_common_words_is_held_only_as_a_phrase() -> None:
    apart = source(
        "Incident response",
        "The team learned from every incident, and the machine was rebuilt.",
        "Learning from incidents matters more than blame.",
        headings=("Learning from incidents",),
    )
    together = source(
        "Machine learning",
        "Machine learning fits models to data.",
        "Machine learning needs data.",
    )
    assert not grade("Machine learning", apart).relevant
    assert not subject.judge(subject.subject("Machine learning"), {"a": apart}).covered
    assert grade("Machine learning", together).relevant


def test_a_specific_word_mentioned_in_passing_is_not_what_a_source_is_about() -> None:
    station = source(
        "The International Space Station",
        "Astronauts exercise daily on a treadmill and a stationary bicycle.",
        "The station orbits Earth every ninety minutes.",
        "Crews rotate every six months.",
    )
    found = grade("bicycles", station)
    assert not found.relevant and "in passing" in found.reason


def test_a_common_word_used_only_inside_the_sources_own_compound_is_another_sense() -> None:
    git = source(
        "Version control and Git",
        "Version control records changes; version control systems came before Git.",
        "Centralised version control needed a server; distributed version control did not.",
        "Every version control system keeps history.",
        headings=("Earlier version control systems",),
    )
    assert not grade("Versions of the Bible", git).relevant
    assert grade("Version control for beginners", git).relevant


def test_a_source_lacking_the_head_of_a_phrase_does_not_hold_its_modifier() -> None:
    pollination = source(
        "Pollination",
        "Pollen moves from anther to stigma.",
        "Wind carries pollen; bees carry pollen too.",
        headings=("How pollination works",),
    )
    assert grade("How pollen travels", pollination).relevant
    found = grade("Pollen allergies", pollination)
    assert not found.relevant and "allergies" in found.reason


def test_a_topic_is_covered_by_the_sources_about_it_between_them() -> None:
    topic = subject.subject("Printing presses and literacy")
    press = source(
        "The Printing Press",
        "Gutenberg's printing press spread across Europe.",
        "Printing presses made books cheaper.",
    )
    reading = source(
        "The History of Literacy",
        "Literacy rose with schooling.",
        "Literacy rates doubled in a century.",
    )
    assert subject.judge(topic, {"press": press, "reading": reading}).covered
    alone = subject.judge(topic, {"reading": reading})
    assert not alone.covered and "presses" in alone.missing


def test_reasons_say_what_a_source_lacks() -> None:
    found = grade("Bread mould and food safety", BREAD)
    assert "mould" in found.reason or "safety" in found.reason
