"""The offline model as an OpenAI Chat Completions server (plain and streamed).

Used in process through an httpx ASGI transport by default (`service.llm`), or on its own port:
`writer offline-model --port 8100`. Like a real server it honours `max_tokens` (a longer answer
is cut, `finish_reason: "length"`) and may have a context window. Faults can be injected for
tests and demos through `POST /admin/faults` (`offline_model.faults`): failed HTTP calls, and
answers a weak model gives (not JSON, no tool calls, bad tool arguments, cut short, running
on). `GET /admin/stats` counts the completions and the faults it served; `GET
/admin/trace-context` lists the `traceparent` header each completion request carried.

This module holds the app and its routes; the answers come from `offline_model.model`, the
wire format from `offline_model.wire`.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from offline_model import model, tokens, wire
from offline_model.conversation import Conversation
from offline_model.faults import (
    FAULT_MESSAGES,
    NO_TOOLS,
    NOT_JSON,
    OVERLONG_REPEATS,
    STALL,
    FaultPlan,
    ServerState,
    cut,
    misanswer,
)
from offline_model.wire import MODEL_NAME

# What callers and tests import from the server, wherever it is defined.
__all__ = [
    "DEFAULT_CONTEXT_TOKENS",
    "MODEL_NAME",
    "NOT_JSON",
    "NO_TOOLS",
    "OVERLONG_REPEATS",
    "FaultPlan",
    "create_app",
]

DEFAULT_CONTEXT_TOKENS = 131072  # what /v1/models says when no plan sets a window


def create_app(token_delay_ms: float = 0, first_token_ms: float = 0) -> FastAPI:
    """The model's app; the delays make it answer at a hosted model's pace: `first_token_ms`
    before the first token, then `token_delay_ms` a token."""
    app = FastAPI(title="Offline model", docs_url=None, redoc_url=None)
    state = ServerState(token_delay_s=token_delay_ms / 1000, first_token_s=first_token_ms / 1000)
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
        state.traceparents.append(request.headers.get("traceparent"))
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
        convo = Conversation.from_request(body)
        task = model.recognise(convo)
        reply = model.answer(convo, task)
        if mode := state.next_answer_fault(task):
            reply = misanswer(mode, reply, convo)
        bound = body.get("max_completion_tokens") or body.get("max_tokens")
        if bound and tokens.completion_tokens(reply.content, reply.tool_calls) > int(bound):
            reply = cut(reply, int(bound))
        usage = wire.make_usage(prompt_tokens, reply)
        completion_id = wire.make_completion_id(body)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            chunks = wire.stream(
                state.token_delay_s,
                completion_id,
                reply,
                usage if include_usage else None,
                first_token_s=state.first_token_s,
            )
            return StreamingResponse(chunks, media_type="text/event-stream")
        if wait := state.first_token_s + state.token_delay_s * usage["completion_tokens"]:
            await asyncio.sleep(wait)
        return JSONResponse(wire.completion(completion_id, reply, usage))

    @app.post("/admin/faults")
    async def inject_faults(plan: FaultPlan) -> dict[str, Any]:
        state.plan = plan
        state.draws = random.Random(plan.seed)
        return {"planned": plan.statuses, "persistent": plan.persistent}

    @app.get("/admin/trace-context")
    async def trace_context() -> dict[str, list[str | None]]:
        """The `traceparent` of each completion request, oldest first: whether the caller
        passed its trace on (a provider that traces would join the caller's trace)."""
        return {"traceparents": list(state.traceparents)}

    @app.get("/admin/stats")
    async def stats() -> dict[str, int]:
        return {
            "completions": state.completions,
            "faults_served": state.faults_served,
            "answer_faults_served": state.answer_faults_served,
        }

    return app
