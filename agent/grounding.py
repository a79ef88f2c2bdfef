"""Whether what research found can ground an article on the topic, and which parts of the plan.

A source is about the topic when the topic's content words are in it, each weighted by how
rare it is in the library, counted half in its title and headings (what the document is about)
and half in its text (what it mentions). A topic whose telling words no source has ("castle",
"origami") scores low even when its common words ("history", "architecture") are everywhere.
The thresholds were set on the bundled library: every topic of the golden set scores at least
0.35; topics the library has nothing on score at most 0.29 (docs/grounding.md).
"""

from __future__ import annotations

import html
import re
from typing import Literal

from agent.sources import Hit, SourceLibrary
from agent.state import Coverage, Outline, Scored, Section, Source

COVERED_FLOOR = 0.33  # the best source must score this: below it, no article
KEEP_SHARE = 0.5  # a source scoring under half the best one's is off the topic
SECTION_FLOOR = 0.5  # share of a heading's own words (beyond the topic's) the kept passages hold
CLOSEST = 3
MAX_SECTIONS = 6  # Outline's bound
# What a small model puts where a heading belongs: tags, entities, Markdown's own marks.
MARKUP = re.compile(r"<[^>]*>|&#?\w+;|[#*_`>|-]+")
WORD = re.compile(r"[^\W\d_]{2,}")


def topic_score(library: SourceLibrary, topic: frozenset[str], source_id: str) -> float:
    total = sum(library.weight(t) for t in topic)
    if not total or library.get(source_id) is None:
        return 0.0
    about = sum(library.weight(t) for t in topic & library.heading_terms(source_id))
    mentions = sum(library.weight(t) for t in topic & library.text_terms(source_id))
    return round((about + mentions) / (2 * total), 3)


def closest(library: SourceLibrary, topic: str, n: int = CLOSEST) -> list[Scored]:
    terms = library.terms(topic)
    scored = [
        Scored(id=doc.id, title=doc.title, score=topic_score(library, terms, doc.id))
        for doc in library.documents.values()
    ]
    ranked = sorted((s for s in scored if s.score > 0), key=lambda s: (-s.score, s.id))
    return ranked[:n]


def _section_supported(
    library: SourceLibrary, topic: frozenset[str], words: str, passages: frozenset[str]
) -> bool:
    own = library.terms(words) - topic  # what the section adds to the topic
    total = sum(library.weight(t) for t in own)
    if not total:
        return True
    return sum(library.weight(t) for t in own & passages) / total >= SECTION_FLOOR


def says_something(text: str) -> bool:
    """Words, not only markup: "Introduction" says something; "#", "<pre><code>" do not."""
    return bool(WORD.search(MARKUP.sub(" ", html.unescape(text))))


def sources_sections(library: SourceLibrary, sources: list[Source]) -> list[Section]:
    """An outline from the kept sources' own sections, those research saw first: the plan to
    fall back on when none of the planned sections is one the sources can support."""
    headings: dict[str, str] = {}
    for src in sources:
        doc = library.get(src.id)
        for section in [p.section for p in src.passages] + [
            p.section for p in (doc.passages if doc else ())
        ]:
            if says_something(section) and section.casefold() != src.title.casefold():
                headings.setdefault(section.casefold(), section)
    return [
        Section(heading=h, question=f"What do the sources say about {h[0].lower() + h[1:]}?")
        for h in list(headings.values())[:MAX_SECTIONS]
    ]


def assess(
    library: SourceLibrary, topic: str, outline: Outline, sources: list[Source]
) -> tuple[Coverage, list[Source], Outline]:
    """The coverage verdict, the sources worth citing, and the outline they can support."""
    terms = library.terms(topic)
    scored = [
        (
            source,
            Scored(id=source.id, title=source.title, score=topic_score(library, terms, source.id)),
        )
        for source in sources
    ]
    best = max((s.score for _, s in scored), default=0.0)
    keep_from = max(COVERED_FLOOR * KEEP_SHARE, best * KEEP_SHARE)
    kept = [(src, s) for src, s in scored if best >= COVERED_FLOOR and s.score >= keep_from]
    dropped = [s for _, s in scored if all(s is not k for _, k in kept)]
    # What the kept sources hold: the passages research saw, and the rest of their documents,
    # which the writer may not quote but which show the section belongs to this topic.
    passages = library.terms(
        " ".join(f"{src.title} {p.section} {p.text}" for src, _ in kept for p in src.passages)
    ).union(*(library.text_terms(src.id) for src, _ in kept))
    sections = [
        section
        for section in outline.sections
        if says_something(section.heading)
        and _section_supported(library, terms, section.heading, passages)
    ]
    # The sources are on the topic but the plan is unusable (a small model's outline of
    # markup, or of headings no source speaks to): follow the sources' own sections instead.
    # The planned sections are still listed as dropped, and finalize says what happened.
    replanned = bool(kept) and not sections
    if replanned:
        sections = sources_sections(library, [src for src, _ in kept])
        if len(sections) < 2:
            sections = []
    verdict: Literal["covered", "partial", "none"] = "covered"
    if not kept or not sections:
        verdict = "none"
    elif dropped or replanned or len(sections) < len(outline.sections):
        verdict = "partial"
    present = frozenset().union(*(library.text_terms(src.id) for src, _ in kept))
    coverage = Coverage(
        verdict=verdict,
        score=best,
        kept=[s for _, s in kept],
        dropped=dropped,
        sections_dropped=[s.heading for s in outline.sections if s not in sections],
        outline_from_sources=replanned and bool(sections),
        missing_terms=sorted(terms - present),
        closest=closest(library, topic) if verdict == "none" else [],
    )
    return coverage, [src for src, _ in kept], outline.model_copy(update={"sections": sections})


def section_passages(library: SourceLibrary, topic: str, subject: str, k: int) -> list[Hit]:
    """Passages that can support a new section on `subject` in an article on `topic`: those of
    each document whose passages hold SECTION_FLOOR of the subject's own words, the bar every
    planned section meets. One document must hold them: a word here and a word there, from
    sources on other things, is not a source on the subject."""
    own = library.terms(subject) - library.terms(topic) or library.terms(subject)
    total = sum(library.weight(t) for t in own)
    by_document: dict[str, list[Hit]] = {}
    for hit in library.search(subject, k):
        by_document.setdefault(hit.passage.source_id, []).append(hit)
    kept: list[Hit] = []
    for hits in by_document.values():
        held = own & library.terms(" ".join(f"{h.passage.section} {h.passage.text}" for h in hits))
        if total and sum(library.weight(t) for t in held) / total >= SECTION_FLOOR:
            kept += [
                h for h in hits if own & library.terms(f"{h.passage.section} {h.passage.text}")
            ]
    return sorted(kept, key=lambda h: -h.score)


def no_sources_message(topic: str, coverage: Coverage) -> str:
    """What a user reads when the library cannot ground the article, and what to do."""
    if coverage.closest:
        nearest = "; ".join(f"{s.title} ({s.id})" for s in coverage.closest)
        holds = f"The closest documents it holds are: {nearest}."
    else:
        holds = "No document it holds shares a content word with the topic."
    return (
        f"The source library has nothing that covers “{topic}”, so no article was written: "
        f"an article must rest on sources about its topic. {holds} To write on this topic, "
        "put Markdown or text documents about it in a folder and point SOURCES_DIR at it."
    )
