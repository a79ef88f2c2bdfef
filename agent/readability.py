"""Flesch reading ease and Flesch-Kincaid grade, with syllables from pyphen's dictionaries.

textstat, the usual choice, now downloads NLTK's CMU dictionary at first use, which an offline
app cannot do; pyphen (the dictionary textstat itself falls back to) ships its data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pyphen

WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")


@lru_cache(maxsize=1)
def _dictionary() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="en_US")


def syllables(word: str) -> int:
    return len(_dictionary().positions(word.lower())) + 1


@dataclass(frozen=True)
class Readability:
    words: int
    sentences: int
    syllables: int

    @property
    def reading_ease(self) -> float:
        """206.835 - 1.015 words/sentence - 84.6 syllables/word; 60-70 is plain English."""
        if not self.words:
            return 0.0
        return round(
            206.835 - 1.015 * self.words / self.sentences - 84.6 * self.syllables / self.words, 1
        )

    @property
    def grade(self) -> float:
        """0.39 words/sentence + 11.8 syllables/word - 15.59: a US school grade."""
        if not self.words:
            return 0.0
        return round(
            0.39 * self.words / self.sentences + 11.8 * self.syllables / self.words - 15.59, 1
        )


def measure(text: str) -> Readability:
    words = WORD.findall(text)
    sentences = max(1, len(SENTENCE_END.findall(text)))
    return Readability(len(words), sentences, sum(syllables(w) for w in words))
