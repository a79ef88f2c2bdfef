"""Whether a cited sentence is supported by what it cites.

A citation is a claim that the sentence comes from the source. The app holds it to a floor it
can check without a model: every specific word of the sentence (a word rarer in English than
`subject.GENERIC_ZIPF`: a name, a term of art) and every number of two digits or more is in the
passages of the source it cites. A sentence that names "Hornsdale" or "1928" and cites a source
without them cites it for something it does not say. Paraphrase of common words passes; this is
a floor, not a judgement of meaning (the eval gate's groundedness judge reads meaning).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from agent.citations import CITATION
from agent.research import subject
from agent.research.sources import Passage

# A sentence ends at . ! or ? before a space; citations right after the stop stay with it.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?!\[\d+\])")
NUMBER = re.compile(r"\b\d[\d,.]*\d\b")


@dataclass(frozen=True)
class Checked:
    markdown: str
    removed: list[tuple[int, str]]  # (source number, the words it lacks), one per citation cut


def specifics(text: str) -> set[str]:
    """The words and numbers a source must hold for a sentence to cite it."""
    words = {
        subject.normal(w)
        for run in subject.runs(CITATION.sub(" ", text))
        for w in run
        if subject.zipf(w) < subject.GENERIC_ZIPF
    }
    return words | {n.replace(",", "") for n in NUMBER.findall(CITATION.sub(" ", text))}


def passage_terms(passages: Iterable[Passage]) -> set[str]:
    text = " ".join(f"{p.title} {p.section} {p.text}" for p in passages)
    words = {subject.normal(w) for run in subject.runs(text) for w in run}
    return words | {n.replace(",", "") for n in NUMBER.findall(text)}


def check(markdown: str, sources: list[list[Passage]]) -> Checked:
    """Removes each citation [n] whose sentence holds a specific word or number that source
    n's passages lack. `sources[n - 1]` are the passages of source n."""
    held = [passage_terms(p) for p in sources]
    removed: list[tuple[int, str]] = []

    def sentence(text: str) -> str:
        needed = specifics(text)

        def keep(match: re.Match[str]) -> str:
            n = int(match.group(1))
            if not 1 <= n <= len(held):
                return match.group(0)  # renumbering drops what names no source
            lacking = sorted(needed - held[n - 1])
            if lacking:
                removed.append((n, ", ".join(lacking[:3])))
                return ""
            return match.group(0)

        return CITATION.sub(keep, text)

    blocks = []
    for block in re.split(r"(\n\s*\n)", markdown):
        if block.lstrip().startswith("#") or not CITATION.search(block):
            blocks.append(block)
        else:
            blocks.append(" ".join(sentence(s) for s in SENTENCE_END.split(block)))
    return Checked("".join(blocks), removed)
