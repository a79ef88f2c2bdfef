"""What LangGraph hands a node's tools during a run, for tests that call a tool directly."""

from __future__ import annotations

from typing import Any

from langgraph.prebuilt import ToolRuntime

from agent.context import Limits, WriterContext
from agent.sources import SourceLibrary


def tool_runtime(library: SourceLibrary) -> ToolRuntime[WriterContext, Any]:
    """A tool's runtime whose context searches `library` (the only part research tools read)."""
    context = WriterContext(library=library, limits=Limits(4096))
    return ToolRuntime(
        state={},
        context=context,
        config={},
        stream_writer=lambda _: None,
        tool_call_id="t",
        store=None,
    )
