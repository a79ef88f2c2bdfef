"""What the model answers: a `Reply` (text, tool calls, or both) and the tool calls it makes.

Kept apart from the tasks because the server's faults (`offline_model.faults`) build and cut
replies too, and a tool call's id must be the same whoever builds it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from offline_model.conversation import Conversation


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False  # cut at the output-token bound

    @property
    def finish_reason(self) -> str:
        if self.truncated:
            return "length"
        return "tool_calls" if self.tool_calls else "stop"


def make_tool_calls(
    convo: Conversation, calls: list[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Tool calls in the Chat Completions shape. Ids are derived from the call and its place in
    the conversation, not drawn at random, so the same request always gets the same answer."""
    out = []
    for i, (name, args) in enumerate(calls):
        arguments = json.dumps(args, ensure_ascii=False)
        digest = hashlib.sha1(f"{len(convo.messages)}:{i}:{name}:{arguments}".encode()).hexdigest()
        out.append(
            {
                "id": f"call_{digest[:16]}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        )
    return out
