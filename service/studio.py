"""The graph as LangGraph's own tools load it (`langgraph dev`, LangGraph Studio): `langgraph.json`
names `graph` here.

The agent takes its model in the run's context and builds none itself; Studio builds a context
from the run's configuration alone, so the context here adds the one piece the agent lacks, the
model of the settings in the environment (the offline model by default), built as the app
builds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from langchain_openai import ChatOpenAI

from agent.context import WriterContext
from agent.graph import build_graph
from service.llm import chat_model
from service.settings import get_settings


@dataclass(frozen=True)
class StudioContext(WriterContext):
    llm: ChatOpenAI = field(default_factory=lambda: chat_model(get_settings()))


graph = build_graph(get_settings().step_timeout_seconds, context_schema=StudioContext)
