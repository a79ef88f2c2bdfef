"""The offline model as an OpenAI Chat Completions server (plain and streamed).

Used in process through an httpx ASGI transport by default (`agent.llm`), or on its own port:
`writer offline-model --port 8100`. Like a real server it honours `max_tokens` (a longer answer
is cut, `finish_reason: "length"`) and may have a context window. Faults can be injected for
tests and demos through `POST /admin/faults`: failed HTTP calls, and answers a weak model gives
(not JSON, no tool calls, bad tool arguments, cut short, running on). `GET /admin/stats` counts
the completions and the faults it served.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from offline_model import model, tokens
from offline_model.model import Reply, Task

MODEL_NAME = "offline-writer"
FAULT_MESSAGES = {
    429: ("rate_limit_exceeded", "Rate limit reached for the offline model (injected)."),
    500: ("server_error", "The offline model failed (injected)."),
    503: ("server_error", "The offline model is overloaded (injected)."),
    504: ("timeout", "The offline model stalled (injected)."),
}


STALL = 0  # a fault that answers nothing: the client's timeout has to end the call
DEFAULT_CONTEXT_TOKENS = 131072  # what /v1/models says when no plan sets a window

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
    token_delay_s: float
    completions: int = 0
    faults_served: int = 0
    answer_faults_served: int = 0
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


def misanswer(mode: AnswerMode, reply: Reply, convo: model.Conversation) -> Reply:
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
            return Reply(None, model.make_tool_calls(convo, calls))
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


def create_app(token_delay_ms: float = 0) -> FastAPI:
    app = FastAPI(title="Offline model", docs_url=None, redoc_url=None)
    state = ServerState(token_delay_s=token_delay_ms / 1000)
    app.state.model = state

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        window = state.plan.context_tokens or DEFAULT_CONTEXT_TOKENS
        return {
            "object": "list",
            "data": [
                {"id": MODEL_NAME, "object": "model", "owned_by": "app", "context_length": window}
            ],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
        if (status := state.next_fault()) is not None:
            if status == STALL:
                await asyncio.sleep(state.plan.stall_seconds)
                status = 504
            code, message = FAULT_MESSAGES.get(status, ("server_error", f"Injected {status}."))
            return JSONResponse(
                {"error": {"message": message, "type": code, "code": code}},
                status_code=status,
                headers={"retry-after-ms": "20"},
            )
        body = await request.json()
        prompt_tokens = tokens.prompt_tokens(body.get("messages") or [])
        window = state.plan.context_tokens
        if window is not None and prompt_tokens > window:
            message = (
                f"This model's maximum context length is {window} tokens. However, your "
                f"messages resulted in {prompt_tokens} tokens."
            )
            error = {"message": message, "type": "invalid_request_error"}
            return JSONResponse(
                {"error": {**error, "code": "context_length_exceeded"}}, status_code=400
            )
        state.completions += 1
        convo = model.Conversation.from_request(body)
        task = model.recognise(convo)
        reply = model.answer(convo, task)
        if mode := state.next_answer_fault(task):
            reply = misanswer(mode, reply, convo)
        bound = body.get("max_completion_tokens") or body.get("max_tokens")
        if bound and tokens.completion_tokens(reply.content, reply.tool_calls) > int(bound):
            reply = cut(reply, int(bound))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": tokens.completion_tokens(reply.content, reply.tool_calls),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        completion_id = (
            "chatcmpl-" + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
        )
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = _stream(state, completion_id, reply, usage if include_usage else None)
            return StreamingResponse(chunks, media_type="text/event-stream")
        if state.token_delay_s:
            await asyncio.sleep(state.token_delay_s * usage["completion_tokens"])
        answer: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            answer["tool_calls"] = reply.tool_calls
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": MODEL_NAME,
                "choices": [{"index": 0, "message": answer, "finish_reason": reply.finish_reason}],
                "usage": usage,
            }
        )

    @app.post("/admin/faults")
    async def inject_faults(plan: FaultPlan) -> dict[str, Any]:
        state.plan = plan
        state.draws = random.Random(plan.seed)
        return {"planned": plan.statuses, "persistent": plan.persistent}

    @app.get("/admin/stats")
    async def stats() -> dict[str, int]:
        return {
            "completions": state.completions,
            "faults_served": state.faults_served,
            "answer_faults_served": state.answer_faults_served,
        }

    return app


async def _stream(
    state: ServerState, completion_id: str, reply: Reply, usage: dict[str, int] | None
) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": MODEL_NAME,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for piece in tokens.split_tokens(reply.content or ""):
        if state.token_delay_s:
            await asyncio.sleep(state.token_delay_s)
        yield chunk({"content": piece})
    for index, call in enumerate(reply.tool_calls):
        yield chunk({"tool_calls": [{"index": index, **call}]})
    yield chunk({}, reply.finish_reason)
    if usage is not None:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": MODEL_NAME,
            "choices": [],
            "usage": usage,
        }
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"
