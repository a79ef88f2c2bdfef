"""What a follow-up does to the session's article: the model reads the instruction as an
`Amendment` (`agent.nodes.amend`); this module checks it against the article and the library
and turns it into the state the graph goes on from.

A change the graph can make goes to `revise` as the reader's change, then through the editor
as any draft does; dropping a section needs no writer, so it goes straight to the editor. What
cannot be done honestly (a section the library has nothing on, a length out of bounds, an
instruction that is none of these) ends the turn with the reason and the article unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import RemoveMessage
from langgraph.graph.message import REMOVE_ALL_MESSAGES

from agent.brief import AUDIENCE_MAX_CHARS, TARGET_WORDS, TONE_MAX_CHARS
from agent.failures import Unwritable
from agent.research import grounding
from agent.research.sources import Hit, SourceLibrary
from agent.state import Amendment, ArticleState, FollowUp, ReviewVerdict, Section, Source

CAN_DO = (
    "A follow-up can shorten or lengthen the article, add a section on something the source "
    "library covers, drop a section, or change its tone or audience."
)
SHORTER, LONGER = 0.6, 1.5  # "shorter" and "longer" with no length named
SECTION_PASSAGES = 6
MAX_SECTIONS = 6  # what a plan may have (`agent.state.Outline`)
MIN_SECTIONS = 2
HEADING = re.compile(r"^##\s+(.+?)\s*$")


def refuse(reason: str, **details: Any) -> Unwritable:
    return Unwritable("unrevisable", f"{reason} {CAN_DO} The article is unchanged.", **details)


def apply(
    asked: Amendment, state: ArticleState, follow_up: FollowUp, library: SourceLibrary
) -> dict[str, Any]:
    """The state update that makes `asked`, or Unwritable saying why it cannot be made."""
    named = follow_up.target_words or asked.target_words
    match asked.action:
        case "shorten" | "lengthen":
            return _resize(asked, state, named)
        case "restyle":
            return _restyle(asked, state, named)
        case "add_section":
            return _add_section(asked, state, named, library)
        case "drop_section":
            return _drop_section(asked, state)
    raise refuse("The instruction asks for none of the changes this app can make.")


def _revision(amendment: Amendment, issue: str, **changes: Any) -> dict[str, Any]:
    """On to `revise` with the reader's change as the one issue; the editor then looks afresh."""
    return {
        **changes,
        "amendment": amendment,
        "verdict": ReviewVerdict(decision="revise", issues=[issue]),
        "revisions": 0,
        "editor_rounds": 0,
        "review_messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES)],
    }


def _bounded(words: int) -> int:
    low, high = TARGET_WORDS
    return max(low, min(high, round(words / 50) * 50))


def _resize(asked: Amendment, state: ArticleState, named: int | None) -> dict[str, Any]:
    words = state["article"].word_count
    shorter = asked.action == "shorten"
    target = _bounded(named or round(words * (SHORTER if shorter else LONGER)))
    if (shorter and target >= words) or (not shorter and target <= words):
        low, high = TARGET_WORDS
        bound = f"the least this app writes is {low}" if shorter else f"the most is {high}"
        raise refuse(
            f"The article has {words} words and a {asked.action}ed one would have {target} "
            f"({bound})."
        )
    amendment = asked.model_copy(update={"target_words": target})
    issue = f"Rewrite to about {target} words (now {words})."
    return _revision(amendment, issue, target_words=target)


def _restyle(asked: Amendment, state: ArticleState, named: int | None) -> dict[str, Any]:
    tone = " ".join(asked.tone.split()) or state["tone"]
    audience = " ".join(asked.audience.split()) or state["audience"]
    if (tone, audience) == (state["tone"], state["audience"]):
        raise refuse("The instruction names no new tone or audience.")
    if len(tone) > TONE_MAX_CHARS or len(audience) > AUDIENCE_MAX_CHARS:
        raise refuse(
            f"A tone is at most {TONE_MAX_CHARS} characters and an audience {AUDIENCE_MAX_CHARS}."
        )
    target = _bounded(named) if named else state["target_words"]
    amendment = asked.model_copy(update={"tone": tone, "audience": audience, "target_words": None})
    return _revision(
        amendment,
        f"Rewrite for {audience}, in a {tone} tone.",
        tone=tone,
        audience=audience,
        target_words=target,
    )


def _add_section(
    asked: Amendment, state: ArticleState, named: int | None, library: SourceLibrary
) -> dict[str, Any]:
    subject = " ".join(asked.subject.split()).rstrip(".")
    outline = state["outline"]
    if not subject:
        raise refuse("The instruction says to add a section but not what it should cover.")
    if _find_section(library, subject, [s.heading for s in outline.sections]) is not None:
        raise refuse(f"The article already has a section on {subject}.")
    if len(outline.sections) >= MAX_SECTIONS:
        raise refuse(f"The article has {MAX_SECTIONS} sections, the most it may have: drop one.")
    hits = grounding.section_passages(library, state["topic"], subject, SECTION_PASSAGES)
    if not hits:
        raise Unwritable(
            "no_sources",
            f"The source library has nothing on {subject}, so no section was added; the "
            "article is unchanged. Add documents about it to the library, or ask for a "
            "section on something it covers.",
        )
    sources, cite = _with_passages(state.get("sources") or [], hits)
    heading = subject[:1].upper() + subject[1:]
    section = Section(heading=heading, question=f"What should the reader know about {subject}?")
    sections = len(outline.sections)
    target = _bounded(named or state["target_words"] * (sections + 1) // sections)
    amendment = asked.model_copy(update={"subject": heading, "cite": cite, "target_words": target})
    return _revision(
        amendment,
        f"Add a section headed '{heading}', citing {', '.join(f'[{n}]' for n in cite)}.",
        sources=sources,
        outline=outline.model_copy(update={"sections": [*outline.sections, section]}),
        target_words=target,
    )


def _with_passages(sources: list[Source], hits: list[Hit]) -> tuple[list[Source], list[int]]:
    """The sources with the hits' passages added (new documents last, so every [n] the draft
    has keeps its meaning), and the numbers of the sources that hold the hits."""
    merged = [source.model_copy(deep=True) for source in sources]
    cite: list[int] = []
    for hit in hits:
        passage = hit.passage
        n = next((i for i, s in enumerate(merged, 1) if s.id == passage.source_id), None)
        if n is None:
            merged.append(Source(id=passage.source_id, title=passage.title, passages=[]))
            n = len(merged)
        if passage.text not in {p.text for p in merged[n - 1].passages}:
            merged[n - 1].passages.append(passage)
        if n not in cite:
            cite.append(n)
    return merged, cite


def _drop_section(asked: Amendment, state: ArticleState) -> dict[str, Any]:
    article, outline = state["article"], state["outline"]
    headings = [s.heading for s in article.sections]
    dropped = _find_section_in(asked.subject, headings)
    if dropped is None:
        raise refuse(
            f"The article has no section called {asked.subject or '(none named)'}; its "
            f"sections are: {'; '.join(headings)}."
        )
    if len(headings) <= MIN_SECTIONS:
        raise refuse(f"An article keeps at least {MIN_SECTIONS} sections.")
    return {
        "draft": _without_section(state["draft"], dropped),
        "outline": outline.model_copy(
            update={"sections": [s for s in outline.sections if s.heading != dropped]}
        ),
        "amendment": None,
        "verdict": None,  # straight to the editor: nothing to write
        "revisions": 0,
        "editor_rounds": 0,
        "review_messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES)],
    }


def _find_section(library: SourceLibrary, subject: str, headings: list[str]) -> str | None:
    """The heading whose content words are the subject's, if one is."""
    wanted = library.terms(subject)
    return next((h for h in headings if wanted and library.terms(h) == wanted), None)


def _find_section_in(subject: str, headings: list[str]) -> str | None:
    """The heading the reader means: the same words, or the one that holds all theirs."""
    words = set(re.findall(r"\w+", subject.lower()))
    if not words:
        return None
    for heading in headings:
        if heading.lower().strip() == subject.lower().strip():
            return heading
    holding = [h for h in headings if words <= set(re.findall(r"\w+", h.lower()))]
    return holding[0] if len(holding) == 1 else None


def _without_section(draft: str, heading: str) -> str:
    kept: list[str] = []
    skipping = False
    for line in draft.splitlines():
        found = HEADING.match(line)
        if found:
            skipping = found.group(1).strip() == heading
        if not skipping:
            kept.append(line)
    return "\n".join(kept).strip()
