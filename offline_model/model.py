"""What the offline model answers to a Chat Completions request.

It reads the structure of a request, never its prose: which tools it is offered, the name of
the JSON schema it is asked for, what the tool results in the conversation say, and the tagged
blocks the app writes into its prompts (`offline_model.blocks`). A prompt file reworded from end
to end gets the same answers. The same request always gets the same answer.

This module tells the tasks apart and hands each to its own module (`planning`, `research`,
`grading`, `drafting`, `editing`, `revising`, `amending`, `judging`); `respond` is the entry
point callers use.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from offline_model.amending import amend
from offline_model.conversation import Conversation
from offline_model.drafting import draft
from offline_model.editing import edit, measurements, verdict
from offline_model.grading import grade
from offline_model.judging import judge
from offline_model.planning import plan
from offline_model.reply import Reply
from offline_model.research import research
from offline_model.revising import revise

# Callers read requests and replies through this module, as they did before the tasks moved out.
__all__ = ["Conversation", "Reply", "Task", "answer", "recognise", "respond"]

# The tasks it recognises; answer faults (`faults.FaultPlan`) name them. `review` is the editor
# with its tools, `decision` the editor's structured verdict asked for without tools.
Task = Literal[
    "plan", "research", "grade", "review", "decision", "draft", "revise", "judge", "amend"
]


def respond(body: dict[str, Any]) -> Reply:
    convo = Conversation.from_request(body)
    return answer(convo, recognise(convo))


def recognise(convo: Conversation) -> Task | None:
    """Which task a request is, by its structure: tools, schema name, tagged blocks."""
    properties = set((convo.schema or {}).get("properties", {}))
    if "search_sources" in convo.tools:
        return "research"
    if {"word_count", "check_citations"} & set(convo.tools):
        return "review"
    if not convo.tools and (convo.schema_name == "ReviewVerdict" or "decision" in properties):
        return "decision"
    if convo.schema_name == "Outline" or "research_questions" in properties:
        return "plan"
    if {"result", "rationale"} <= properties:
        return "judge"
    if convo.schema_name == "Amendment" or {"action", "subject"} <= properties:
        return "amend"
    if convo.schema_name == "SourceGrades" or "grades" in properties:
        return "grade"
    has = {t for t in ("outline", "sources", "issues", "draft") if convo.block(t) is not None}
    if {"issues", "draft"} <= has:
        return "revise"
    if {"outline", "sources"} <= has and "draft" not in has:
        return "draft"
    return None


def answer(convo: Conversation, task: Task | None) -> Reply:
    match task:
        case "research":
            return research(convo)
        case "review":
            return edit(convo)
        case "decision":
            return Reply(json.dumps(verdict(measurements(convo))))
        case "plan":
            return Reply(json.dumps(plan(convo)))
        case "judge":
            return Reply(json.dumps(judge(convo)))
        case "grade":
            return Reply(json.dumps(grade(convo)))
        case "amend":
            return Reply(json.dumps(amend(convo)))
        case "revise":
            return Reply(revise(convo))
        case "draft":
            return Reply(draft(convo))
    return Reply(
        "The offline model writes articles for this app's graph only: it needs the tagged "
        "blocks (<outline>, <sources>, <draft>...) that the app writes into its prompts."
    )
