"""The planner's answer: an outline (title, sections, research questions) as JSON.

The outline is built from the background passages the library found for the topic, so it only
promises sections the sources can fill.
"""

from __future__ import annotations

from typing import Any

from offline_model import blocks, writing
from offline_model.conversation import Conversation


def plan(convo: Conversation) -> dict[str, Any]:
    found = convo.block("background")
    topic = (found.attributes.get("topic") if found else None) or "the topic"
    background = blocks.parse_background(found.body if found else "")
    topic_terms = writing.terms(topic)
    # Sections come from the headings of the passages the library ranked highest for the topic:
    # the outline covers what the sources can support, in the library's order of relevance.
    headings: list[str] = []
    seen: set[frozenset[str]] = set()
    for passage in background:
        key = frozenset(writing.terms(passage.section))
        if passage.section.lower() in {"overview", "introduction", "summary"} or key in seen:
            continue
        seen.add(key)
        headings.append(passage.section)
    if len(headings) < 2:
        headings += [h for h in ("Background", "What the evidence shows") if h not in headings]
    headings = headings[:4]
    subject = topic.rstrip("?.!")
    sections = [
        {
            "heading": heading,
            "question": f"What does {writing.lower_first(heading)} tell us about {subject}?",
        }
        for heading in headings
    ]
    questions = [
        " ".join(dict.fromkeys([*heading.split(), *subject.split()]))
        if not writing.terms(heading) <= topic_terms
        else subject
        for heading in headings
    ]
    return {
        "title": writing.title_case(topic),
        "sections": sections,
        "research_questions": list(dict.fromkeys(questions)),
    }
