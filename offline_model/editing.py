"""The editor: it measures a draft (with its tools, or itself when it has none) and answers a
verdict, `{"decision": "revise" | "finalize", "issues": [...]}`.

The verdict follows only from the measurements, never from the draft's prose, so a test can
state the issues a given word count and citation check must produce.
"""

from __future__ import annotations

import json
from typing import Any

from agent import citations
from offline_model import blocks
from offline_model.conversation import Conversation, parse_json
from offline_model.length import AIM, DEFAULT_TARGET_WORDS
from offline_model.reply import Reply, make_tool_calls


def edit(convo: Conversation) -> Reply:
    """The editor with its tools: it measures first, then answers its verdict as text."""
    if not convo.tool_results():
        wanted = [
            name for name in ("word_count", "readability", "check_citations") if name in convo.tools
        ]
        return Reply(None, make_tool_calls(convo, [(name, {}) for name in wanted]))
    return Reply(json.dumps(verdict(measurements(convo))))


def measurements(convo: Conversation) -> dict[str, Any]:
    """What the editor's tools measured, by tool name; if no tool ran, the same measures taken
    of the `<draft>` block (citation numbers are checked only if a `<sources>` block says how
    many sources there are)."""
    if results := convo.tool_results():
        return {name: parse_json(out) or {} for name, _, out in results}
    found = convo.block("draft")
    if found is None:
        return {}
    sources = convo.block("sources")
    report = citations.check(found.body, len(blocks.parse_sources(sources.body if sources else "")))
    return {
        "word_count": {
            "words": citations.count_words(found.body),
            "target": found.number("target_words", DEFAULT_TARGET_WORDS),
        },
        "check_citations": {
            "invalid": report.invalid if sources else [],
            "uncited_paragraphs": report.uncited_paragraphs,
        },
    }


def verdict(measured: dict[str, Any]) -> dict[str, Any]:
    issues = []
    if count := measured.get("word_count"):
        words, target = count["words"], count["target"]
        if words < target * (1 - AIM):
            issues.append(
                f"The draft has {words} words against a target of {target}: "
                f"add about {target - words} words of sourced material."
            )
        elif words > target * (1 + AIM):
            issues.append(
                f"The draft has {words} words against a target of {target}: "
                f"cut about {words - target} words."
            )
    if check := measured.get("check_citations"):
        if check.get("invalid"):
            listed = ", ".join(f"[{n}]" for n in check["invalid"])
            issues.append(f"Citations {listed} name no listed source: remove or correct them.")
        if check.get("uncited_paragraphs"):
            listed = ", ".join(str(n) for n in check["uncited_paragraphs"])
            issues.append(f"Paragraphs {listed} cite no source: support them with citations.")
    return {"decision": "revise" if issues else "finalize", "issues": issues}
