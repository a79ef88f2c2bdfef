"""Reading a Chat Completions request: the `Conversation` and the parts of it the model uses.

Every task reads the same few things out of a request (the tools offered, the JSON schema asked
for, the tagged blocks in the prompt, the tool results so far), so they are pulled out once
here and each task's answer reads them by name instead of walking raw messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from offline_model import blocks


@dataclass
class Conversation:
    """A request, with the parts the model looks at pulled out."""

    messages: list[dict[str, Any]]
    tools: list[str]
    schema: dict[str, Any] | None
    schema_name: str | None = None

    @classmethod
    def from_request(cls, body: dict[str, Any]) -> Conversation:
        tools = [t["function"]["name"] for t in body.get("tools") or [] if "function" in t]
        schema = name = None
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema":
            json_schema = response_format.get("json_schema") or {}
            schema, name = json_schema.get("schema") or {}, json_schema.get("name")
        return cls(list(body.get("messages") or []), tools, schema, name)

    def text(self, role: str) -> str:
        return "\n\n".join(message_text(m) for m in self.messages if m.get("role") == role)

    @property
    def prompt(self) -> str:
        return self.text("system") + "\n\n" + self.text("user")

    def block(self, tag: str) -> blocks.Block | None:
        return blocks.find(self.prompt, tag)

    def body(self, tag: str) -> str:
        found = self.block(tag)
        return found.body if found else ""

    def tool_results(self) -> list[tuple[str, dict[str, Any], str]]:
        """(tool name, its arguments, its result) for every answered tool call, in order."""
        calls = {
            call["id"]: call["function"]
            for m in self.messages
            if m.get("role") == "assistant"
            for call in m.get("tool_calls") or []
        }
        results = []
        for m in self.messages:
            if m.get("role") == "tool" and (call := calls.get(m.get("tool_call_id", ""))):
                results.append(
                    (call["name"], parse_json(call.get("arguments")) or {}, message_text(m))
                )
        return results


def message_text(message: dict[str, Any]) -> str:
    """A message's text, whether sent as a string or as a list of content parts."""
    found = message.get("content")
    if isinstance(found, list):
        return "".join(p.get("text", "") for p in found if isinstance(p, dict))
    return found or ""


def parse_json(text: Any) -> Any:
    """`text` decoded, or None if it is not JSON; a value already decoded passes through,
    since clients send tool arguments both ways."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None
