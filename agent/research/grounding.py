"""Whether what research found can ground an article on the topic, and which parts of the plan.

Whether a source is about the topic, and whether the sources about it cover the topic, is the
rule of `agent.research.subject`: the topic's words weighed by how rare they are in English,
compounds held as phrases, a source about the topic where it says what it is about. A model that
grades sources (SOURCE_GRADER) decides among those the rule kept (`agent.nodes.coverage`).
Whether a planned section is supported is read from the kept sources' words, weighed by how rare
they are in the library (SECTION_FLOOR).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Literal

from agent.research import subject
from agent.research.sources import Hit, SourceLibrary
from agent.state import Coverage, Outline, Scored, Section, Source, SourceGrade

SECTION_FLOOR = 0.5  # share of a heading's own words (beyond the topic's) the kept passages hold
CLOSEST = 3
MAX_SECTIONS = 6  # Outline's bound
# What a small model puts where a heading belongs: tags, entities, Markdown's own marks.
MARKUP = re.compile(r"<[^>]*>|&#?\w+;|[#*_`>|-]+")
WORD = re.compile(r"[^\W\d_]{2,}")


def judge(
    library: SourceLibrary, topic: str, sources: list[Source] | list[str]
) -> tuple[subject.Subject, subject.Judgement]:
    """The rule's grade of each source and its verdict on the topic over them. A document of
    the library is judged whole; another source (a web page) by the passages research met."""
    subj = subject.subject(topic)
    held: dict[str, subject.Profile] = {}
    for source in sources:
        sid = source if isinstance(source, str) else source.id
        if sid in held:
            continue
        if library.get(sid) is not None:
            held[sid] = library.profile(sid)
        elif isinstance(source, Source) and source.passages:
            held[sid] = subject.Profile.of(
                [source.title, *dict.fromkeys(p.section for p in source.passages)],
                [p.text for p in source.passages],
            )
    return subj, subject.judge(subj, held)


def closest(library: SourceLibrary, topic: str, n: int = CLOSEST) -> list[Scored]:
    """The library's documents that share most of the topic's words, for a refusal to name."""
    subj = subject.subject(topic)
    near = [
        Scored(id=sid, title=doc.title, score=subject.overlap(subj, library.profile(sid)))
        for sid, doc in library.documents.items()
    ]
    return sorted((s for s in near if s.score > 0), key=lambda s: (-s.score, s.id))[:n]


def documents_on(library: SourceLibrary, topic: str, n: int = CLOSEST + 1) -> list[str]:
    """The library's documents about the topic, most of it first, if together they cover it:
    what research should have met. None if the whole library does not cover the topic."""
    _, judgement = judge(library, topic, list(library.documents))
    if not judgement.covered:
        return []
    ranked = sorted(judgement.relevant, key=lambda sid: (-judgement.grades[sid].share, sid))
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
    library: SourceLibrary,
    topic: str,
    outline: Outline,
    sources: list[Source],
    model: Mapping[str, tuple[bool, str]] | None = None,
) -> tuple[Coverage, list[Source], Outline]:
    """The coverage verdict, the sources worth citing, and the outline they can support.

    `model`: a model's grade (relevant, reason) of sources the rule kept, by id; a source it
    judges off the topic is dropped, and the verdict is the rule's over the rest.
    """
    model = model or {}
    refused = {sid for sid, (relevant, _) in model.items() if not relevant}
    subj, by_rule = judge(library, topic, sources)
    if refused:  # the rule's verdict over the sources the model left
        judgement = judge(library, topic, [s for s in sources if s.id not in refused])[1]
    else:
        judgement = by_rule
    grades = [_grade(src, by_rule.grades.get(src.id), model.get(src.id)) for src in sources]
    kept = [src for src in sources if src.id in judgement.relevant]
    dropped = [
        Scored(id=g.id, title=g.title, score=g.share) for g in grades if not _is_kept(g, kept)
    ]
    # What the kept sources hold: the passages research saw, and the rest of their documents,
    # which the writer may not quote but which show the section belongs to this topic.
    terms = library.terms(topic)
    passages = library.terms(
        " ".join(f"{src.title} {p.section} {p.text}" for src in kept for p in src.passages)
    ).union(*(library.text_terms(src.id) for src in kept if library.get(src.id)))
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
        sections = sources_sections(library, kept)
        if len(sections) < 2:
            sections = []
    verdict: Literal["covered", "partial", "none"] = "covered"
    if not judgement.covered or not kept or not sections:
        verdict = "none"
        kept = []
    elif dropped or replanned or len(sections) < len(outline.sections):
        verdict = "partial"
    coverage = Coverage(
        verdict=verdict,
        score=judgement.share,
        needed=judgement.bar,
        subject=[w.text for w in subj.words],
        kept=[Scored(id=g.id, title=g.title, score=g.share) for g in grades if _is_kept(g, kept)],
        dropped=dropped
        if verdict != "none"
        else [Scored(id=g.id, title=g.title, score=g.share) for g in grades],
        grades=grades,
        sections_dropped=[s.heading for s in outline.sections if s not in sections],
        outline_from_sources=replanned and bool(sections),
        missing_terms=judgement.missing,
        closest=closest(library, topic) if verdict == "none" else [],
    )
    return coverage, kept, outline.model_copy(update={"sections": sections})


def _is_kept(grade: SourceGrade, kept: list[Source]) -> bool:
    return any(src.id == grade.id for src in kept)


def _grade(
    source: Source, by_rule: subject.Grade | None, by_model: tuple[bool, str] | None
) -> SourceGrade:
    share = by_rule.share if by_rule else 0.0
    if by_model is not None:
        return SourceGrade(
            id=source.id,
            title=source.title,
            relevant=by_model[0],
            share=share,
            reason=by_model[1],
            by="model",
        )
    return SourceGrade(
        id=source.id,
        title=source.title,
        relevant=bool(by_rule and by_rule.relevant),
        share=share,
        reason=by_rule.reason if by_rule else "nothing of it was read",
        by="rule",
    )


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


def no_sources_message(topic: str, coverage: Coverage, searched: str) -> str:
    """What a user reads when the sources cannot ground the article: what was searched, what
    it lacks, what it holds nearest, and how to add sources. `searched` names the sources."""
    lacking = ", ".join(f"‘{w}’" for w in coverage.missing_terms[:4])
    lacks = f" No source about it holds {lacking}." if lacking else ""
    if refused := [g for g in coverage.grades if g.by == "model" and not g.relevant]:
        named = "; ".join(f"{g.title} ({g.id})" for g in refused[:3])
        lacks += (
            f" The model that grades sources judged {len(refused)} that the word rule kept "
            f"to be off the topic: {named} (SOURCE_GRADER=rule leaves it to the rule)."
        )
    if coverage.closest:
        nearest = "; ".join(f"{s.title} ({s.id})" for s in coverage.closest)
        holds = f" The closest documents it holds are: {nearest}."
    else:
        holds = " No document it holds shares a content word with the topic."
    if coverage.unreachable:
        lacks += f" Not reached: {'; '.join(coverage.unreachable)}."
    return (
        f"Nothing in {searched} covers “{topic}”, so no article was written: an article must "
        f"rest on sources about its topic.{lacks}{holds} To write on this topic, put documents "
        "about it (Markdown, text, PDF, HTML or Word) in a folder and point SOURCES_DIR at it."
    )
