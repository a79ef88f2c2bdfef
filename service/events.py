"""What a run reports while it works: the events the SSE stream and the CLI render.

`trace` comes first; then `node` (start and end, with a state summary), `tool` (start and end),
`token` (the article's text as the writing nodes produce it) and `usage` (running token counts).
The API adds an id and the trace id to each, and ends the stream with `done` or `error`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langgraph.types import StreamMode

from agent.spans import state_attributes

EventKind = Literal["trace", "node", "tool", "token", "usage"]
# Nodes whose model output is the article's text; other nodes' tokens are JSON or tool calls.
WRITING_NODES = frozenset({"draft", "revise"})
# Tool nodes, and the state key holding the conversation whose tool calls they run.
TOOL_NODES = {"research_tools": "research_messages", "editor_tools": "review_messages"}
PREVIEW_CHARS = 160


@dataclass(frozen=True)
class Event:
    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)


EventHook = Callable[[Event], None]


def node_started(name: str, state: dict[str, Any]) -> list[Event]:
    events = [Event("node", {"node": name, "status": "start"})]
    if key := TOOL_NODES.get(name):
        messages: list[BaseMessage] = state.get(key) or []
        last = messages[-1] if messages else None
        for call in last.tool_calls if isinstance(last, AIMessage) else []:
            events.append(
                Event(
                    "tool",
                    {"node": name, "tool": call["name"], "args": call["args"], "status": "start"},
                )
            )
    return events


def node_finished(name: str, update: dict[str, Any], state: dict[str, Any]) -> list[Event]:
    events = []
    if key := TOOL_NODES.get(name):
        for message in update.get(key) or []:
            if isinstance(message, ToolMessage):
                text = str(message.content)
                events.append(
                    Event(
                        "tool",
                        {
                            "node": name,
                            "tool": message.name,
                            "status": "error" if message.status == "error" else "end",
                            "result_preview": text[:PREVIEW_CHARS]
                            + ("..." if len(text) > PREVIEW_CHARS else ""),
                        },
                    )
                )
    summary = state_attributes({**state, **update})
    events.append(
        Event(
            "node",
            {
                "node": name,
                "status": "end",
                "state": {k.removeprefix("state."): v for k, v in summary.items()},
            },
        )
    )
    return events


def token(chunk: BaseMessage, metadata: dict[str, Any]) -> Event | None:
    node = metadata.get("langgraph_node")
    if node in WRITING_NODES and isinstance(chunk, AIMessageChunk) and chunk.text:
        return Event("token", {"node": node, "text": chunk.text})
    return None


def stream_modes(tokens: bool) -> list[StreamMode]:
    """What `relay` reads of a run: node starts, state updates, the state, and the article's
    tokens when a listener wants them (the model then streams)."""
    modes: list[StreamMode] = ["tasks", "updates", "values"]
    return [*modes, "messages"] if tokens else modes


async def relay(
    parts: AsyncIterator[Any], emit: EventHook, usage: Callable[[], dict[str, int]]
) -> dict[str, Any]:
    """Turns a graph's stream (`stream_modes`) into events; returns the final state.

    `usage` reads the token counts so far, reported after every node.
    """
    state: dict[str, Any] = {}
    async for part in parts:
        mode, chunk = cast(tuple[str, Any], part)
        if mode == "values":
            state = chunk
        elif mode == "tasks" and "input" in chunk:  # a node starts
            for event in node_started(chunk["name"], state):
                emit(event)
        elif mode == "updates":
            for node, update in chunk.items():
                if node == "__interrupt__":  # a breakpoint: the caller reads the saved state
                    continue
                for event in node_finished(node, update or {}, state):
                    emit(event)
                emit(Event("usage", usage()))
        elif mode == "messages" and (said := token(*chunk)):
            emit(said)
    return state
