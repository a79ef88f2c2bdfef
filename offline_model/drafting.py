"""The writer's first draft: a title, an introduction and one section per outline entry.

Every sentence is a source sentence chosen for its section (`offline_model.writing`), so the
draft is as well cited as its sources allow; the introduction is chosen last, from what the
sections left, so no sentence appears twice.
"""

from __future__ import annotations

from offline_model import blocks, writing
from offline_model.conversation import Conversation
from offline_model.length import DEFAULT_TARGET_WORDS


def draft(convo: Conversation) -> str:
    found = convo.block("outline") or blocks.Block({}, "")
    topic = found.attributes.get("topic", "")
    title = found.attributes.get("title") or writing.title_case(topic)
    outline = blocks.parse_outline(found.body)
    candidates = writing.candidates(blocks.parse_sources(convo.body("sources")))
    context = writing.terms(topic)
    target = found.number("target_words", DEFAULT_TARGET_WORDS)
    used: set[str] = set()
    intro_budget = min(60, target // 10)
    section_budget = max(40, (target - intro_budget) // max(1, len(outline)))

    body = []
    for heading, question in outline:
        focus = writing.terms(f"{heading} {question}") - context or writing.terms(heading)
        chosen = writing.pick(candidates, focus, context, section_budget, used)
        body.append(f"## {heading}")
        body += writing.paragraphs_of(chosen) or [writing.NOTHING_FOUND]
    # The introduction is written last, from the most general sentences the sections left.
    intro = writing.pick(candidates, context, context, intro_budget, used)
    return "\n\n".join([f"# {title}", *writing.paragraphs_of(intro), *body])
