"""The reviser: it fixes what the editor measures (bad citation numbers, uncited paragraphs,
length), makes the reader's change of a later turn (`<change>`: a new section from the sources
it names, a new tone or audience), and leaves the rest of the draft as it was.

It answers the editor's measures rather than its prose, so that a revision moves the same
numbers the editor will check again. A tone or audience change it can only mark, not feel: it
opens the article with whom and how it is now written for, and a formal tone spells out
contractions; a real model rewrites.
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
    change = convo.block("change") or blocks.Block({}, "")
    match change.attributes.get("kind"):
        case "add_section":
            _add_section(sections, change, candidates, used, target)
        case "restyle":
            _restyle(sections, change)
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


def _add_section(
    sections: Sections,
    change: blocks.Block,
    candidates: list[Candidate],
    used: set[str],
    target: int,
) -> None:
    """A new last section on the change's subject, from the sources it may cite."""
    subject = change.attributes.get("subject", "")
    allowed = {int(n) for n in change.attributes.get("cite", "").split(",") if n.isdigit()}
    pool = [c for c in candidates if c.n in allowed] or candidates
    body = sum(1 for heading, _ in sections if heading.startswith("## "))
    chosen = writing.pick(pool, writing.terms(subject), set(), target // (body + 1), used)
    sections.append((f"## {writing.title_case(subject)}", writing.paragraphs_of(chosen)))


CONTRACTIONS = {"n't": " not", "'re": " are", "'ll": " will", "'ve": " have"}  # not 's


def _restyle(sections: Sections, change: blocks.Block) -> None:
    tone, audience = change.attributes.get("tone"), change.attributes.get("audience")
    if tone and "formal" in tone and "informal" not in tone:
        for _, paragraphs in sections:
            for i, paragraph in enumerate(paragraphs):
                for short, long in CONTRACTIONS.items():
                    paragraph = paragraph.replace(short, long)
                paragraphs[i] = paragraph
    parts = (f"for {audience}" if audience else "", f"in a {tone} tone" if tone else "")
    said = " ".join(part for part in parts if part)
    first = next((ps for _, ps in sections if ps), None)
    if first is not None and said:
        first[0] = f"This version is written {said}. {first[0]}"


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
    least one paragraph everywhere; then uncited sentences of the longest paragraphs. Those
    always stand before the citation that ends their run of one source's sentences, so every
    sentence left is still cited."""
    while excess > 0:
        longest = max(sections, key=lambda s: sum(citations.count_words(p) for p in s[1]))
        if len(longest[1]) > 1:
            excess -= citations.count_words(longest[1].pop())
            continue
        cuttable = [
            (paragraphs, i, sentences)
            for _, paragraphs in sections
            for i, sentences in enumerate(writing.sentences(p) for p in paragraphs)
            if any(not citations.CITATION.search(s) for s in sentences[:-1])
        ]
        if not cuttable:
            return
        paragraphs, i, sentences = max(cuttable, key=lambda c: citations.count_words(c[0][c[1]]))
        cut = next(n for n, s in enumerate(sentences[:-1]) if not citations.CITATION.search(s))
        excess -= citations.count_words(sentences.pop(cut))
        paragraphs[i] = " ".join(sentences)
