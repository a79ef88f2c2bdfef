"""Token accounting of the offline model: one token per whitespace-separated word.

Deterministic and easy to check by hand: prompt tokens are the words of every message's text
and tool-call arguments; completion tokens are the words of the reply's text and tool calls.
"""

from __future__ import annotations

import re
from typing import Any

TOKEN = re.compile(r"\s*\S+")


def split_tokens(text: str) -> list[str]:
    """Chunks that concatenate back to `text` (less trailing blanks), one per word."""
    return TOKEN.findall(text)


def count(text: str) -> int:
    return len(text.split())


def message_tokens(message: dict[str, Any]) -> int:
    total = 0
    content = message.get("content")
    if isinstance(content, str):
        total += count(content)
    elif isinstance(content, list):  # content parts
        total += sum(count(part.get("text", "")) for part in content if isinstance(part, dict))
    for call in message.get("tool_calls") or []:
        total += count(call.get("function", {}).get("arguments", ""))
    return total


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(message_tokens(m) for m in messages)


def completion_tokens(content: str | None, tool_calls: list[dict[str, Any]]) -> int:
    args = " ".join(c["function"]["arguments"] for c in tool_calls)
    return count(content or "") + count(args)
