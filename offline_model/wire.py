"""The Chat Completions wire format: a `Reply` as a completion object or as streamed chunks.

Apart from the routes so that the plain and the streamed answer are built side by side from the
same reply, id and usage, and read the same to any OpenAI client.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from offline_model import tokens
from offline_model.reply import Reply

MODEL_NAME = "offline-writer"


def make_completion_id(body: dict[str, Any]) -> str:
    """Derived from the request, so the same request gets the same id."""
    return "chatcmpl-" + hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]


def make_usage(prompt_tokens: int, reply: Reply) -> dict[str, int]:
    found = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": tokens.completion_tokens(reply.content, reply.tool_calls),
    }
    found["total_tokens"] = found["prompt_tokens"] + found["completion_tokens"]
    return found


def completion(completion_id: str, reply: Reply, usage: dict[str, int]) -> dict[str, Any]:
    answer: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        answer["tool_calls"] = reply.tool_calls
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_NAME,
        "choices": [{"index": 0, "message": answer, "finish_reason": reply.finish_reason}],
        "usage": usage,
    }


async def stream(
    token_delay_s: float,
    completion_id: str,
    reply: Reply,
    usage: dict[str, int] | None,
    first_token_s: float = 0,
) -> AsyncIterator[str]:
    """Server-sent events: after `first_token_s`, the text token by token (each after
    `token_delay_s`), then the tool calls, the finish reason and, if asked for, the usage."""

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

    if first_token_s:
        await asyncio.sleep(first_token_s)
    yield chunk({"role": "assistant", "content": ""})
    for piece in tokens.split_tokens(reply.content or ""):
        if token_delay_s:
            await asyncio.sleep(token_delay_s)
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
