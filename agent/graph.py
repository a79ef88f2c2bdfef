"""The article writer, whole at a glance.

    plan -> research <-> research_tools -> coverage -> draft -> review <-> editor_tools -> finalize
                                                |                  ^   \\
                                                +-> END            +-- revise  (bounded rounds)
                                          (no sources on the topic: no article)

A later turn of a session (a follow-up on the article it has) starts at `amend`:

    amend -> revise -> review ...      (shorter, longer, a new section, a new tone or audience)
    amend -> review ...                (a section dropped: nothing to write)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

from agent.context import Bounds, WriterContext
from agent.nodes import amend, coverage, draft, finalize, plan, research, review, revise
from agent.settings import AgentSettings
from agent.state import ArticleInput, ArticleState
from agent.tools import EDITOR_TOOLS, RESEARCH_TOOLS, skip_repeated_calls
from tracing import internals

Graph = CompiledStateGraph[ArticleState, WriterContext, ArticleInput, ArticleState]
STEP_TIMEOUT_SECONDS: float = AgentSettings.model_fields["step_timeout_seconds"].default


# --- routing: which node runs next, from the state and the run's bounds ------------------


def _wants_tools(messages: list[AnyMessage]) -> bool:
    last = messages[-1] if messages else None
    return isinstance(last, AIMessage) and bool(last.tool_calls)


def at_start(state: ArticleState, bounds: Bounds) -> Literal["amend", "plan"]:
    return "amend" if state.get("follow_up") else "plan"


def after_amend(state: ArticleState, bounds: Bounds) -> Literal["revise", "review"]:
    return "revise" if state.get("verdict") else "review"


def after_research(state: ArticleState, bounds: Bounds) -> Literal["research_tools", "coverage"]:
    wants_tools = _wants_tools(state["research_messages"])
    within_bound = state["research_rounds"] <= bounds.research_rounds
    return "research_tools" if wants_tools and within_bound else "coverage"


def after_coverage(state: ArticleState, bounds: Bounds) -> Literal["draft", "__end__"]:
    return "__end__" if state["coverage"].verdict == "none" else "draft"  # "__end__": END


def after_review(
    state: ArticleState, bounds: Bounds
) -> Literal["editor_tools", "revise", "finalize"]:
    if _wants_tools(state["review_messages"]) and state["editor_rounds"] <= bounds.editor_rounds:
        return "editor_tools"
    verdict = state.get("verdict")
    wants_revision = verdict is not None and verdict.decision == "revise"
    within_bound = state.get("revisions", 0) < bounds.revisions
    return "revise" if wants_revision and within_bound else "finalize"


class Route(Runnable[ArticleState, str]):
    """A routing function that LangGraph calls without callbacks, so it leaves no span.

    Traced, each routing decision was a span whose input repeated the whole state: a fifth of
    a stored trace and about 20 ms a request (docs/tracing.md, "Tracing cost"). The node it
    chose is the next span anyway. The bounds come from the run's context, not the build.
    """

    def __init__(self, decide: Callable[[ArticleState, Bounds], str]) -> None:
        self.decide = decide
        self.name = decide.__name__

    def invoke(self, input: ArticleState, config: RunnableConfig | None = None, **_: Any) -> str:
        return self.decide(input, internals.run_context(config).bounds)

    async def ainvoke(
        self, input: ArticleState, config: RunnableConfig | None = None, **_: Any
    ) -> str:
        return self.invoke(input, config)


def tool_node(tools: list[BaseTool], messages_key: str) -> ToolNode:
    """LangGraph's ToolNode over one conversation, answering a repeated call from memory."""
    return ToolNode(
        tools, messages_key=messages_key, awrap_tool_call=skip_repeated_calls(messages_key)
    )


def build_graph(
    step_timeout_seconds: float = STEP_TIMEOUT_SECONDS,
    checkpointer: BaseCheckpointSaver[str] | None = None,
    context_schema: type[WriterContext] = WriterContext,
) -> Graph:
    """The graph; with `checkpointer`, each run's state is saved under its thread (session).
    `context_schema`: what a run's context is built as when the caller gives only part of it
    (LangGraph Studio builds it from the run's configuration)."""
    graph = StateGraph(ArticleState, context_schema=context_schema, input_schema=ArticleInput)
    graph.add_node("amend", amend)
    graph.add_node("plan", plan)
    graph.add_node("research", research)
    graph.add_node("research_tools", tool_node(RESEARCH_TOOLS, "research_messages"))
    graph.add_node("coverage", coverage)
    graph.add_node("draft", draft)
    graph.add_node("review", review)
    graph.add_node("editor_tools", tool_node(EDITOR_TOOLS, "review_messages"))
    graph.add_node("revise", revise)
    graph.add_node("finalize", finalize)

    graph.add_conditional_edges(START, Route(at_start), ["amend", "plan"])
    graph.add_conditional_edges("amend", Route(after_amend), ["revise", "review"])
    graph.add_edge("plan", "research")
    graph.add_conditional_edges("research", Route(after_research), ["research_tools", "coverage"])
    graph.add_edge("research_tools", "research")
    graph.add_conditional_edges("coverage", Route(after_coverage), ["draft", END])
    graph.add_edge("draft", "review")
    graph.add_conditional_edges(
        "review", Route(after_review), ["editor_tools", "revise", "finalize"]
    )
    graph.add_edge("editor_tools", "review")
    graph.add_edge("revise", "review")
    graph.add_edge("finalize", END)
    compiled = graph.compile(name="article-writer", checkpointer=checkpointer)
    # A bound on every step. It also makes LangGraph run each node in its own asyncio task,
    # which keeps autolog's inline tracer from nesting each node under the one before it.
    compiled.step_timeout = step_timeout_seconds
    return compiled
