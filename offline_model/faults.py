"""The faults the server injects on request (`POST /admin/faults`), and replies cut to a bound.

Failed HTTP calls (statuses, stalls, a random share of calls) and the answers a weak model gives
(not JSON, no tool calls, bad tool arguments, cut short, running on) live here, apart from the
routes, so that the app's retry and repair paths can be driven on purpose and each fault is
readable on its own. `ServerState` keeps the plan in force between calls and counts what was
served; `cut` is here because a `length` fault and a `max_tokens` bound end a reply the same way.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from offline_model import tokens
from offline_model.conversation import Conversation
from offline_model.model import Task
from offline_model.reply import Reply, make_tool_calls

FAULT_MESSAGES = {
    429: ("rate_limit_exceeded", "Rate limit reached for the offline model (injected)."),
    500: ("server_error", "The offline model failed (injected)."),
    503: ("server_error", "The offline model is overloaded (injected)."),
    504: ("timeout", "The offline model stalled (injected)."),
}
STALL = 0  # a fault that answers nothing: the client's timeout has to end the call

AnswerMode = Literal["invalid_json", "no_tool_calls", "bad_tool_args", "length", "overlong"]
NOT_JSON = "Sure! Here is what you asked for."
NO_TOOLS = "I will answer from what I know."
OVERLONG_REPEATS = 8


class FaultPlan(BaseModel):
    statuses: list[int] = Field(
        default_factory=list, description=f"Answer the next calls so ({STALL}: stall)."
    )
    persistent: bool = Field(False, description="Keep answering the last status for good.")
    rate: float = Field(0, ge=0, le=1, description="Then fail this share of calls at random...")
    rate_statuses: list[int] = Field(
        default_factory=lambda: [429, 500, STALL], description="...with one of these, at random."
    )
    stall_seconds: float = Field(30, ge=0, le=600, description="How long a stall lasts.")
    seed: int = Field(0, description="Seeds the random draws, so a run can be repeated.")
    answers: dict[Task, list[AnswerMode]] = Field(
        default_factory=dict,
        description="Per task (plan, research, review, decision, draft, revise), how its next "
        "calls misanswer, one mode per call: invalid_json, no_tool_calls, bad_tool_args, "
        "length, overlong.",
    )
    context_tokens: int | None = Field(
        None, ge=1, description="The context window: a longer prompt is refused with a 400."
    )


@dataclass
class ServerState:
    """What the server keeps between calls: the fault plan in force, its random draws, and the
    counts `GET /admin/stats` reports."""

    token_delay_s: float
    first_token_s: float = 0
    completions: int = 0
    faults_served: int = 0
    answer_faults_served: int = 0
    # The W3C trace context each completion request carried (None: no header), newest last.
    traceparents: deque[str | None] = field(default_factory=lambda: deque(maxlen=1000))
    plan: FaultPlan = field(default_factory=FaultPlan)
    draws: random.Random = field(default_factory=random.Random)

    def next_fault(self) -> int | None:
        plan = self.plan
        if plan.statuses:
            status = plan.statuses[0]
            if len(plan.statuses) > 1 or not plan.persistent:
                plan.statuses.pop(0)
        elif plan.rate and plan.rate_statuses and self.draws.random() < plan.rate:
            status = self.draws.choice(plan.rate_statuses)
        else:
            return None
        self.faults_served += 1
        return status

    def next_answer_fault(self, task: Task | None) -> AnswerMode | None:
        modes = self.plan.answers.get(task) if task else None
        if not modes:
            return None
        self.answer_faults_served += 1
        return modes.pop(0)


def misanswer(mode: AnswerMode, reply: Reply, convo: Conversation) -> Reply:
    """The answer a weak model gives instead of `reply`.

    `invalid_json`: a sentence instead of the JSON (or of any answer); `no_tool_calls`: text
    only, tools or not; `bad_tool_args`: a search without its query and a read of a source
    that does not exist; `length`: the answer cut to half its tokens (`finish_reason:
    "length"`); `overlong`: its text eight times over (then cut by `max_tokens`, if set).
    """
    match mode:
        case "invalid_json":
            return Reply(NOT_JSON)
        case "no_tool_calls":
            return Reply(NO_TOOLS)
        case "bad_tool_args":  # a search without its query, a read of a source no search named
            calls: list[tuple[str, dict[str, Any]]] = [
                ("search_sources", {"q": 3}),
                ("read_source", {"source_id": "no-such-source"}),
            ]
            return Reply(None, make_tool_calls(convo, calls))
        case "length":
            return cut(reply, tokens.completion_tokens(reply.content, reply.tool_calls) // 2)
        case "overlong":
            if reply.content is None:
                return reply
            return Reply("\n\n".join([reply.content] * OVERLONG_REPEATS), reply.tool_calls)


def cut(reply: Reply, limit: int) -> Reply:
    """The reply's first `limit` tokens, as a server that stops generating leaves it: its text,
    then the tool calls that fit whole (a call cut short could not be made anyway)."""
    pieces = tokens.split_tokens(reply.content or "")
    content = None if reply.content is None else "".join(pieces[:limit])
    left = max(0, limit - len(pieces))
    calls = []
    for call in reply.tool_calls:
        size = tokens.count(call["function"]["arguments"])
        if size > left:
            break
        calls.append(call)
        left -= size
    return Reply(content, calls, truncated=True)
