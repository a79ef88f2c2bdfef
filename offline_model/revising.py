"""The reviser: it fixes what the editor measures (bad citation numbers, uncited paragraphs,
length) and leaves the rest of the draft as it was.

It answers the editor's measures rather than its prose, so that a revision moves the same
numbers the editor will check again.
"""

from __future__ import annotations

import re

from agent import citations
from offline_model import blocks, writing
from offline_model.conversation import Conversation
from offline_model.length import AIM, DEFAULT_TARGET_WORDS
from offline_model.writing import Candidate

# A draft as its sections: (heading, or "" before the first one; its paragraphs).
Sections = list[tuple[str, list[str]]]


def revise(convo: Conversation) -> str:
    """Fixes what the editor measures: bad citation numbers, uncited paragraphs, length."""
    sources = blocks.parse_sources(convo.body("sources"))
    found = convo.block("draft") or blocks.Block({}, "")
    article = found.body
    target = found.number("target_words", DEFAULT_TARGET_WORDS)
    candidates = writing.candidates(sources)
    valid = {s.n for s in sources}

    # Sections as lists of paragraphs; the title and headings stay exactly as they were.
    sections: Sections = []
    for chunk in re.split(r"\n\s*\n", article.strip()):
        if chunk.startswith("#") or not sections:
            sections.append((chunk if chunk.startswith("#") else "", []))
            if chunk.startswith("#"):
                continue
        text = citations.tidy(
            citations.CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", chunk)
        )
        if not citations.CITATION.search(text):
            text = _cite_paragraph(text, candidates)
        sections[-1][1].append(text)

    written = " ".join(citations.strip(p) for _, ps in sections for p in ps)
    used = {c.text for c in candidates if c.text in written}
    words = sum(citations.count_words(p) for _, ps in sections for p in ps)
    low, high = target * (1 - AIM), target * (1 + AIM)
    if words < low:
        _lengthen(sections, candidates, used, int(target - words))
    elif words > high:
        _shorten(sections, int(words - target))
    out = []
    for heading, paragraphs in sections:
        out += ([heading] if heading else []) + [p for p in paragraphs if p.strip()]
    return "\n\n".join(out)


def _cite_paragraph(paragraph: str, candidates: list[Candidate]) -> str:
    """Cites the source whose sentences share the most terms with an uncited paragraph."""
    found = writing.terms(paragraph)
    best = max(candidates, key=lambda c: (len(c.terms & found), -c.order), default=None)
    if best is None or not best.terms & found:
        return paragraph
    return writing.cite(paragraph, best.n)


def _lengthen(sections: Sections, candidates: list[Candidate], used: set[str], need: int) -> None:
    """Adds unused sourced sentences to the sections they fit best."""
    body = [(h, ps) for h, ps in sections if h.startswith("## ")]
    share = max(30, need // max(1, len(body)))
    for heading, paragraphs in body:
        focus = writing.terms(heading[3:])
        context = writing.terms(" ".join(paragraphs))
        extra = writing.paragraphs_of(writing.pick(candidates, focus, context, share, used))
        if extra and writing.NOTHING_FOUND in paragraphs:
            paragraphs.remove(writing.NOTHING_FOUND)
        paragraphs += extra


def _shorten(sections: Sections, excess: int) -> None:
    """Drops the last paragraph of the longest section until the excess is gone, keeping at
    least one paragraph everywhere."""
    while excess > 0:
        longest = max(sections, key=lambda s: sum(citations.count_words(p) for p in s[1]))
        if len(longest[1]) <= 1:
            return
        excess -= citations.count_words(longest[1].pop())
