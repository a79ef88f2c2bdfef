"""What a topic is about, and whether sources are about it: the coverage rule.

A topic's words are not equal. "The invention of the telescope" is about telescopes: a source
that mentions an invention answers another question. So each word weighs by how rare it is in
English at large (wordfreq's Zipf scale, shipped with the package), not in the library: a
library with "history" in every title must not make "the history of the bicycle" its own.

The topic:
- is cut into runs of adjacent content words. Stopwords, request words ("explain", "beginners",
  "topic"), frame words ("the history of", "the effects of"), words English uses only as verbs
  or adverbs ("threaten", "mostly"), numbers and punctuation end a run;
- a word rarer than GENERIC_ZIPF is specific ("telescope", "neonicotinoid"); the rest are
  common ("history", "air", "machine");
- a word weighs (CEILING_ZIPF - its Zipf frequency) squared: "neonicotinoid" 23, "telescope"
  7.6, "history" 1.2;
- a run of common words alone is a compound ("machine learning", "central heating"); beside a
  specific word, each common word stands alone ("the metric system").

A source holds:
- a word, plural aside, in the sense the topic uses it: not a common word only ever inside a
  compound of the source's own that the topic lacks ("version" in "version control" is not the
  "versions" of the Bible);
- a compound's words where two of them stand side by side ("machine learning"); held apart,
  a word counts half where the source is about it, and nothing elsewhere;
- nothing of a phrase whose last word, specific, it lacks: a source on pollen does not hold
  "pollen allergies".

A source is about the topic (relevant) when it holds SOURCE_SHARE of the topic's weight, one
of its specific words if it has any, and part of it where it says what it is about: its title
or headings, PROMINENT_PASSAGES of its passages, or a specific word beside its neighbour from
the topic ("waggle dance").

The topic is covered when the sources about it hold between them:
- SPECIFIC_HELD_SHARE of its weight, if they hold every specific word;
- COMMON_TOPIC_SHARE, if the topic has no specific word (LEADING_TERM_SHARE when its first
  term, where English puts what a question is about, is held as written);
- TOPIC_SHARE otherwise: a specific word missing needs the rest of the topic to be there.

docs/grounding.md says the same for readers; evals/topics.yaml is the bar it is measured on.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

from bm25s.stopwords import STOPWORDS_EN_PLUS
from lemminflect import getAllLemmas
from wordfreq import zipf_frequency

# Zipf 4 is a word met about ten times in a million words of English: "telescope" 3.8,
# "bicycle" 4.0, "invention" 4.0, "history" 5.4, "air" 5.4.
GENERIC_ZIPF = 4.0
# A word wordfreq does not know (a new name, "kubernetes") weighs the most; the commonest
# content words ("work", "world") weigh MIN_WEIGHT squared.
CEILING_ZIPF = 6.5
MIN_WEIGHT = 0.3
SOURCE_SHARE = 0.3
TOPIC_SHARE = 0.6
SPECIFIC_HELD_SHARE = 0.45
COMMON_TOPIC_SHARE = 0.45
LEADING_TERM_SHARE = 0.35
PROMINENT_PASSAGES = 2
# A common word whose uses in a source stand this often before one same word is, there, part
# of that compound ("version control"); counted over at least SENSE_USES uses.
SENSE_SHARE = 0.8
SENSE_USES = 3
# Words that frame a topic rather than name it: "the history of", "the invention of", "the
# effects of" X is about X. They never count as subject matter, so a library with "history"
# in its headings does not hold every history.
FRAME_WORDS = frozenset(
    """advantages benefits development developments disadvantages effect effects evolution
    facts future history histories impact impacts importance invention inventions myths
    origin origins pros cons rise role science story stories""".split()
)
# Words that say what kind of article is wanted, not what it is about ("Explain ... for
# beginners", "Topic 4: ..."): they never count as subject matter.
REQUEST_WORDS = FRAME_WORDS | frozenset(
    """actually also article articles ask background basic basics beginner beginners best blog
    brief briefing bring can conclusion conclusions could deal describe done essay everyday
    evidence explain explained explainer get gets getting go goes going good guide happen
    happened happens hey hood intro introduction just kind know let like lot lots made make
    makes many much need new nothing old overview part parts people please piece post
    practical primer prove put really short show shows simple simply sort step steps still
    story summarise summarize summary takeaways tell thing things think thoughts today topic
    topics tutorial us use used using want wants way ways well whats work works would
    write""".split()
)
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# What ends a run of adjacent words: punctuation other than a hyphen or an apostrophe.
BREAK = re.compile(r"[^\w\s'-]|_")


def normal(word: str) -> str:
    """A word without its plural: light, so that "pumps" is not "pumped" and "investigative"
    is not "investigation", which a stemmer would merge."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


@cache
def zipf(word: str) -> float:
    return float(zipf_frequency(word, "en"))


@cache
def names_something(word: str) -> bool:
    """Whether a word can be a noun or an adjective. A word English uses only as a verb or an
    adverb ("harming", "threaten", "mostly") says what happens to the subject, not what it is;
    an unknown word (a name) may be anything."""
    readings = getAllLemmas(word)
    if not readings or word.endswith("ing"):  # "logging", "printing": gerunds name things
        return True
    return bool({"NOUN", "ADJ", "PROPN"} & set(readings))


def is_content(word: str) -> bool:
    return (
        word.isalpha()
        and len(word) > 1
        and word not in STOPWORDS_EN_PLUS
        and word not in REQUEST_WORDS
    )


def runs(text: str) -> list[list[str]]:
    """Runs of adjacent content words, as written (lower case): what stands together."""
    found: list[list[str]] = []
    for clause in BREAK.split(text.lower().replace("’", "'").replace("-", " ")):
        run: list[str] = []
        for token in TOKEN.findall(clause):
            word = token.split("'")[0]  # "gutenberg's" -> "gutenberg"
            if is_content(word):
                run.append(word)
            elif run:
                found.append(run)
                run = []
        if run:
            found.append(run)
    return found


@dataclass(frozen=True)
class Word:
    text: str
    key: str  # normal(text): what a source must have
    zipf: float

    @classmethod
    def of(cls, text: str) -> Word:
        return cls(text, normal(text), zipf(text))

    @property
    def specific(self) -> bool:
        return self.zipf < GENERIC_ZIPF

    @property
    def weight(self) -> float:
        return round(max(MIN_WEIGHT, CEILING_ZIPF - self.zipf) ** 2, 3)


@dataclass(frozen=True)
class Term:
    """A specific word, a lone common word, or a compound of common words."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def weight(self) -> float:
        return sum(w.weight for w in self.words)

    @property
    def pairs(self) -> list[tuple[Word, Word]]:
        return list(zip(self.words, self.words[1:], strict=False))


@dataclass(frozen=True)
class Subject:
    """What a topic is about: its words by run, and the terms a source is checked for."""

    topic: str
    runs: tuple[tuple[Word, ...], ...]

    @property
    def words(self) -> list[Word]:
        return [w for run in self.runs for w in run]

    @property
    def specific(self) -> list[Word]:
        return [w for w in self.words if w.specific]

    @property
    def names(self) -> list[str]:
        """Its telling words as written: the specific ones, or, if none, its common terms."""
        return [w.text for w in self.specific] or [t.text for t in self.common]

    @property
    def common(self) -> list[Term]:
        """Each run of common words alone, a compound; each common word beside a specific
        one, a term of its own."""
        found: list[Term] = []
        for run in self.runs:
            if any(w.specific for w in run):
                found += [Term((w,)) for w in run if not w.specific]
            else:
                found.append(Term(run))
        return found


def subject(topic: str) -> Subject:
    """The words that make `topic` what it is (see the module's docstring)."""
    seen: set[str] = set()
    kept: list[tuple[Word, ...]] = []
    for run in runs(topic):
        parts: list[list[str]] = [[]]
        for word in run:  # a word that only names an action ends a run, like a stopword
            if names_something(word):
                parts[-1].append(word)
            elif parts[-1]:
                parts.append([])
        for part in parts:
            words = tuple(w for w in map(Word.of, part) if w.key not in seen)
            seen |= {w.key for w in words}  # "bread ... bread" weighs once
            if words:
                kept.append(words)
    return Subject(topic, tuple(kept))


Key = str | tuple[str, str]  # a word, or two side by side


@dataclass
class Profile:
    """What one source holds, for grading: its words and adjacent pairs, built once."""

    headings: set[Key] = field(default_factory=set)  # in its title and headings
    passages: Counter[Key] = field(default_factory=Counter)  # in how many of its passages
    heads: dict[str, Counter[str]] = field(default_factory=dict)  # word -> the words after it

    @classmethod
    def of(cls, headings: Iterable[str], passages: Iterable[str]) -> Profile:
        profile = cls()
        for heading in headings:
            profile.headings |= profile._read(heading)
        for text in passages:
            profile.passages.update(profile._read(text))
        return profile

    def _read(self, text: str) -> set[Key]:
        keys: set[Key] = set()
        for run in runs(text):
            words = [normal(w) for w in run]
            keys.update(words)
            for a, b in itertools.pairwise(words):
                keys.add((a, b))
                self.heads.setdefault(a, Counter())[b] += 1
        return keys

    def uses(self, key: Key) -> int:
        return self.passages[key] + (key in self.headings)

    def has(self, word: Word, topic: Subject) -> bool:
        """The word, in the sense the topic uses it: a common word not only inside a compound
        of the source's own ("version control") that the topic lacks."""
        uses = self.uses(word.key)
        heads = self.heads.get(word.key)
        if not uses or word.specific or uses < SENSE_USES or not heads:
            return bool(uses)
        head, count = heads.most_common(1)[0]
        return count < SENSE_SHARE * uses or head in {w.key for w in topic.words}

    def _prominent(self, key: Key) -> bool:
        return key in self.headings or self.passages[key] >= PROMINENT_PASSAGES

    def prominent(self, term: Term, topic: Subject) -> bool:
        """What the source is about, not a passing mention: in its title or headings, or in
        PROMINENT_PASSAGES of its passages. A compound counts as a phrase; a specific word
        also counts where it stands beside its neighbour from the topic ("waggle dance")."""
        if len(term.words) > 1:
            return any(self._prominent((a.key, b.key)) for a, b in term.pairs) or any(
                w.key in self.headings for w in term.words
            )
        word = term.words[0]
        if self._prominent(word.key):
            return True
        return word.specific and any(
            self.uses((a.key, b.key))
            for run in topic.runs
            for a, b in itertools.pairwise(run)
            if word in (a, b)
        )

    def credit(self, term: Term, topic: Subject) -> dict[Word, float]:
        """The weight of each of `term`'s words held. A compound's words count where two stand
        side by side; held apart, they count half in a topic with specific words, which carry
        its meaning ("ACID transactions in databases"), and nothing in one without ("machine
        learning")."""
        if len(term.words) == 1:
            word = term.words[0]
            return {word: word.weight} if self.has(word, topic) else {}
        paired = {w for a, b in term.pairs if self.uses((a.key, b.key)) for w in (a, b)}
        found = {w: w.weight for w in paired}
        found |= {
            w: w.weight / 2
            for w in term.words
            if w not in paired and self.has(w, topic) and self._prominent(w.key)
        }
        return found


@dataclass(frozen=True)
class Grade:
    """Whether one source is about the topic, and why, in words a reader can check."""

    relevant: bool
    share: float  # of the topic's weight the source holds
    reason: str


def _quoted(words: Iterable[str]) -> str:
    return ", ".join(f"'{w}'" for w in words)


def _terms(topic: Subject) -> list[Term]:
    return [Term((w,)) for w in topic.specific] + topic.common


def held(topic: Subject, source: Profile) -> dict[Word, float]:
    """The weight of each of the topic's words that the source holds. A phrase whose last
    word (its head: allergies in "pollen allergies") is specific and missing, lends its other
    words nothing: a source on pollen is not one on pollen allergies."""
    found = {w: c for t in _terms(topic) for w, c in source.credit(t, topic).items()}
    for run in topic.runs:
        head = run[-1]
        if len(run) > 1 and head.specific and head not in found:
            for word in run:
                found.pop(word, None)
    return found


def grade(topic: Subject, source: Profile) -> Grade:
    """Whether one source is about the topic: it holds SOURCE_SHARE of its weight, and part of
    it where it says what it is about (its title, headings, or several passages)."""
    total = sum(w.weight for w in topic.words)
    if not total:
        return Grade(False, 0.0, "the topic names no subject, only request words")
    found = held(topic, source)
    share = round(sum(found.values()) / total, 3)
    about = [
        t.text for t in _terms(topic) if source.credit(t, topic) and source.prominent(t, topic)
    ]
    lacking = [w.text for w in topic.words if w not in found]
    lacks = f"; lacks {_quoted(lacking)}" if lacking else ""
    if not about:
        what = _quoted(w.text for w in found) or "none of its words"
        return Grade(False, share, f"mentions {what} in passing")
    if share < SOURCE_SHARE:
        return Grade(False, share, f"holds {share:.0%} of the topic{lacks}")
    if topic.specific and not any(w in found for w in topic.specific):
        # Only the topic's common words: "invention" is not the telescope's.
        wanted = _quoted(w.text for w in topic.specific)
        return Grade(False, share, f"holds none of the topic's specific words ({wanted})")
    return Grade(True, share, f"is about {_quoted(about)}{lacks}")


def overlap(topic: Subject, source: Profile) -> float:
    """The share of the topic's weight whose words the source has anywhere, in any sense: how
    near it comes, for naming the closest documents when none is about the topic."""
    total = sum(w.weight for w in topic.words)
    near = sum(w.weight for w in topic.words if source.uses(w.key))
    return round(near / total, 3) if total else 0.0


@dataclass(frozen=True)
class Judgement:
    """The rule's verdict on a topic over a set of sources."""

    grades: dict[str, Grade]  # by source id
    share: float  # of the topic's weight that the relevant sources hold between them
    bar: float  # the share the topic needed
    missing: list[str]  # the topic's words no relevant source holds

    @property
    def covered(self) -> bool:
        return self.share >= self.bar

    @property
    def relevant(self) -> list[str]:
        return [i for i, g in self.grades.items() if g.relevant]


def _holds_as_written(source: Profile, term: Term) -> bool:
    if len(term.words) == 1:
        return bool(source.uses(term.words[0].key))
    return any(source.uses((a.key, b.key)) for a, b in term.pairs)


def judge(topic: Subject, sources: Mapping[str, Profile]) -> Judgement:
    """Grades each source, then whether the relevant ones cover the topic between them."""
    grades = {sid: grade(topic, profile) for sid, profile in sources.items()}
    found: dict[Word, float] = {}
    for sid, g in grades.items():
        if g.relevant:
            for word, credit in held(topic, sources[sid]).items():
                found[word] = max(found.get(word, 0.0), credit)
    total = sum(w.weight for w in topic.words)
    share = round(sum(found.values()) / total, 3) if total else 0.0
    if not topic.specific:
        first = Term(topic.runs[0]) if topic.runs else None
        named = first is not None and any(
            _holds_as_written(sources[sid], first) for sid, g in grades.items() if g.relevant
        )
        needed = LEADING_TERM_SHARE if named else COMMON_TOPIC_SHARE
    elif all(w in found for w in topic.specific):
        needed = SPECIFIC_HELD_SHARE
    else:
        needed = TOPIC_SHARE
    missing = [w.text for w in topic.words if w not in found]
    return Judgement(grades, share, needed, missing)
