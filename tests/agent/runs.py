"""What the agent is handed during a run, for tests that call a part of it directly: a model
(the agent builds none itself), and the runtime LangGraph gives a node's tools."""

from __future__ import annotations

from typing import Any

from langchain_openai import ChatOpenAI
from langgraph.prebuilt import ToolRuntime

from agent.context import Limits, WriterContext
from agent.research.sources import SourceLibrary
from service.llm import chat_model
from service.settings import ServiceSettings


def offline_llm() -> ChatOpenAI:
    """The offline model, as the service layer builds it for a run."""
    return chat_model(ServiceSettings(_env_file=None))  # type: ignore[call-arg]


def tool_runtime(library: SourceLibrary) -> ToolRuntime[WriterContext, Any]:
    """A tool's runtime whose context searches `library` (the only part research tools read)."""
    context = WriterContext(offline_llm(), library=library, limits=Limits(4096))
    return ToolRuntime(
        state={},
        context=context,
        config={},
        stream_writer=lambda _: None,
        tool_call_id="t",
        store=None,
    )
