"""The offline model as an OpenAI Chat Completions server (plain and streamed).

Used in process through an httpx ASGI transport by default (`agent.llm`), or on its own port:
`writer offline-model --port 8100`. Faults can be injected for tests and demos through
`POST /admin/faults`, and `GET /admin/stats` counts the completions it served.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from agent.offline import tokens
from agent.offline.model import Reply, respond

MODEL_NAME = "offline-writer"
FAULT_MESSAGES = {
    429: ("rate_limit_exceeded", "Rate limit reached for the offline model (injected)."),
    500: ("server_error", "The offline model failed (injected)."),
    503: ("server_error", "The offline model is overloaded (injected)."),
    504: ("timeout", "The offline model stalled (injected)."),
}


STALL = 0  # a fault that answers nothing: the client's timeout has to end the call


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


@dataclass
class ServerState:
    token_delay_s: float
    completions: int = 0
    faults_served: int = 0
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


def create_app(token_delay_ms: float = 0) -> FastAPI:
    app = FastAPI(title="Offline model", docs_url=None, redoc_url=None)
    state = ServerState(token_delay_s=token_delay_ms / 1000)
    app.state.model = state

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "app"}],
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
        state.completions += 1
        reply = respond(body)
        usage = {
            "prompt_tokens": tokens.prompt_tokens(body.get("messages") or []),
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
                "choices": [{"index": 0, "message": answer, "finish_reason": _finish(reply)}],
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
        return {"completions": state.completions, "faults_served": state.faults_served}

    return app


def _finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool_calls else "stop"


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
    yield chunk({}, _finish(reply))
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
