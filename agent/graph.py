"""The article writer, whole at a glance.

    plan -> research <-> research_tools -> coverage -> draft -> review <-> editor_tools -> finalize
                                                |                  ^   \\
                                                +-> END            +-- revise  (bounded rounds)
                                          (no sources on the topic: no article)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

from agent.context import WriterContext
from agent.nodes import coverage, draft, finalize, plan, research, review, revise
from agent.settings import Settings
from agent.state import ArticleState
from agent.tools import EDITOR_TOOLS, skip_repeated_calls

Graph = CompiledStateGraph[ArticleState, WriterContext, ArticleState, ArticleState]


class Route(Runnable[ArticleState, str]):
    """A routing function that LangGraph calls without callbacks, so it leaves no span.

    Traced, each routing decision was a span whose input repeated the whole state: a fifth of
    a stored trace and about 20 ms a request (docs/tracing.md, "Tracing cost"). The node it
    chose is the next span anyway.
    """

    def __init__(self, decide: Callable[[ArticleState], str]) -> None:
        self.decide = decide
        self.name = decide.__name__

    def invoke(self, input: ArticleState, config: RunnableConfig | None = None, **_: Any) -> str:
        return self.decide(input)

    async def ainvoke(
        self, input: ArticleState, config: RunnableConfig | None = None, **_: Any
    ) -> str:
        return self.decide(input)


def _wants_tools(messages: list[AnyMessage]) -> bool:
    last = messages[-1] if messages else None
    return isinstance(last, AIMessage) and bool(last.tool_calls)


def build_graph(research_tools: list[BaseTool], settings: Settings) -> Graph:
    def after_research(state: ArticleState) -> str:
        wants_tools = _wants_tools(state["research_messages"])
        within_bound = state["research_rounds"] <= settings.max_research_rounds
        return "research_tools" if wants_tools and within_bound else "coverage"

    def after_coverage(state: ArticleState) -> str:
        return END if state["coverage"].verdict == "none" else "draft"

    def after_review(state: ArticleState) -> str:
        wants_tools = _wants_tools(state["review_messages"])
        if wants_tools and state["editor_rounds"] <= settings.max_editor_rounds:
            return "editor_tools"
        verdict = state.get("verdict")
        wants_revision = verdict is not None and verdict.decision == "revise"
        return (
            "revise"
            if wants_revision and state.get("revisions", 0) < settings.max_revisions
            else "finalize"
        )

    graph = StateGraph(ArticleState, context_schema=WriterContext)
    graph.add_node("plan", plan)
    graph.add_node("research", research)
    graph.add_node(
        "research_tools",
        ToolNode(
            research_tools,
            messages_key="research_messages",
            awrap_tool_call=skip_repeated_calls("research_messages"),
        ),
    )
    graph.add_node("coverage", coverage)
    graph.add_node("draft", draft)
    graph.add_node("review", review)
    graph.add_node(
        "editor_tools",
        ToolNode(
            EDITOR_TOOLS,
            messages_key="review_messages",
            awrap_tool_call=skip_repeated_calls("review_messages"),
        ),
    )
    graph.add_node("revise", revise)
    graph.add_node("finalize", finalize)

    graph.add_edge(START, "plan")
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
    compiled = graph.compile(name="article-writer")
    # A bound on every step. It also makes LangGraph run each node in its own asyncio task,
    # which keeps autolog's inline tracer from nesting each node under the one before it.
    compiled.step_timeout = settings.step_timeout_seconds
    return compiled
