"""Reading `[n]` citations and prose out of the article's Markdown."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

CITATION = re.compile(r"\[(\d+)\]")
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")


def paragraphs(markdown: str) -> list[str]:
    """Prose paragraphs, headings left out."""
    blocks = (block.strip() for block in re.split(r"\n\s*\n", markdown))
    return [block for block in blocks if block and not block.startswith("#")]


def tidy(text: str) -> str:
    """Closes the gap a removed citation leaves before punctuation."""
    return re.sub(r"[ \t]+([.,;!?])", r"\1", text)


def strip(text: str) -> str:
    """The text without citation markers."""
    return tidy(CITATION.sub("", text))


def plain_text(markdown: str) -> str:
    """The prose a reader reads: no headings, no citation markers."""
    return "\n\n".join(strip(p) for p in paragraphs(markdown))


# The same draft is counted by the editor's tool, each node's state span and the trace
# processor: a profile showed a few ms of every article spent counting the same text again.
@functools.lru_cache(maxsize=256)
def count_words(markdown: str) -> int:
    return len(WORD.findall(plain_text(markdown)))


def cited(text: str) -> list[int]:
    """Citation numbers in order of first appearance."""
    return list(dict.fromkeys(int(n) for n in CITATION.findall(text)))


@dataclass
class CitationReport:
    cited: list[int]
    invalid: list[int]
    uncited_paragraphs: list[int] = field(default_factory=list)  # 1-based
    paragraphs: int = 0

    @property
    def coverage(self) -> float:
        if not self.paragraphs:
            return 0.0
        return round(1 - len(self.uncited_paragraphs) / self.paragraphs, 3)


def check(markdown: str, source_count: int) -> CitationReport:
    prose = paragraphs(markdown)
    numbers = cited(markdown)
    return CitationReport(
        cited=sorted(numbers),
        invalid=[n for n in numbers if not 1 <= n <= source_count],
        uncited_paragraphs=[i for i, p in enumerate(prose, 1) if not CITATION.search(p)],
        paragraphs=len(prose),
    )
