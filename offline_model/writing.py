"""Extractive composition: choosing and ordering source sentences, with their citations.

The offline model writes only sentences that stand in the passages of its prompt, each followed
by the number of the source it came from, so every claim it makes is checkable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

from agent import citations
from offline_model import blocks

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just know many me
    more most my need no nor not now of off on once only or other our out over own readers same
    say says she should so some such tell than that the their them then there these they this those
    through to too under understand until up us very was we were what when where which while who
    whom why will with would you your""".split()
)
SMALL_WORDS = frozenset(
    "a an and as at but by for from in into of on or the to vs via with".split()
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def terms(text: str) -> set[str]:
    words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOPWORDS]
    return set(_stemmer().stemWords(words))


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def title_case(text: str) -> str:
    text = " ".join(text.strip().rstrip(".").split())
    out = []
    for i, word in enumerate(text.split(" ")):
        if word.isupper() or any(c.isupper() for c in word[1:]):
            out.append(word)  # acronyms and names keep their case
        elif i and word.lower() in SMALL_WORDS:
            out.append(word.lower())
        else:
            out.append(word[:1].upper() + word[1:])
    return " ".join(out)


def lower_first(text: str) -> str:
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


@dataclass(frozen=True)
class Candidate:
    """A source sentence the writer may use."""

    n: int  # the source's citation number
    order: int  # position in the prompt, to keep the source's own order when sentences group
    section: str
    text: str

    @property
    def terms(self) -> set[str]:
        return terms(self.text)

    @property
    def heading_terms(self) -> set[str]:
        return terms(self.section)


def candidates(sources: list[blocks.Source]) -> list[Candidate]:
    """Every sentence of the sources' passages the writer may use, in prompt order."""
    found: list[Candidate] = []
    for source in sources:
        for passage in source.passages:
            for sentence in sentences(passage.text):
                if citations.count_words(sentence) >= 6:  # fragments and captions make poor claims
                    found.append(Candidate(source.n, len(found), passage.section, sentence))
    return found


def score(candidate: Candidate, focus: set[str], context: set[str]) -> float:
    """Overlap with the section's focus counts most, the topic's words break ties, and a
    passage whose own heading matches the focus gets a bonus."""
    found = candidate.terms
    heading_bonus = 1.5 * len(candidate.heading_terms & focus)
    return len(found & focus) * 2 + len(found & context) * 0.5 + heading_bonus


def pick(
    candidates: list[Candidate], focus: set[str], context: set[str], budget: int, used: set[str]
) -> list[Candidate]:
    """Best-scoring unused sentences up to about `budget` words, in their source order."""
    ranked = sorted(
        (c for c in candidates if c.text not in used and (c.terms | c.heading_terms) & focus),
        key=lambda c: (-score(c, focus, context), c.order),
    )
    chosen: list[Candidate] = []
    total = 0
    for candidate in ranked:
        if total >= budget:
            break
        size = citations.count_words(candidate.text)
        if chosen and total + size > budget * 1.15:
            continue
        chosen.append(candidate)
        used.add(candidate.text)
        total += size
    return sorted(chosen, key=lambda c: c.order)


NOTHING_FOUND = "The sources gathered for this article say nothing specific on this point."


def cite(sentence: str, n: int) -> str:
    """Puts `[n]` before the sentence's closing punctuation."""
    body = sentence.rstrip()
    if body and body[-1] in ".!?":
        return f"{body[:-1]} [{n}]{body[-1]}"
    return f"{body} [{n}]"


def paragraphs_of(chosen: list[Candidate], per_paragraph: int = 3) -> list[str]:
    """Groups sentences into paragraphs; a run of sentences from one source cites it once."""
    paragraphs = []
    for start in range(0, len(chosen), per_paragraph):
        group = chosen[start : start + per_paragraph]
        parts = []
        for i, candidate in enumerate(group):
            last_of_run = i + 1 == len(group) or group[i + 1].n != candidate.n
            parts.append(cite(candidate.text, candidate.n) if last_of_run else candidate.text)
        paragraphs.append(" ".join(parts))
    return paragraphs
