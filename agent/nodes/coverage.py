"""coverage: the gate between research and drafting. No sources on the topic, no article."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime

from agent import grounding
from agent.context import WriterContext
from agent.nodes.research import collect_sources, search_questions
from agent.state import ArticleState
from agent.tracing import traced_node


@traced_node("coverage")
async def coverage(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    ctx = runtime.context
    found, sources, outline = grounding.assess(
        ctx.library, state["topic"], state["outline"], state.get("sources") or []
    )
    update: dict[str, Any] = {}
    nearest = grounding.closest(ctx.library, state["topic"], 1)
    if found.verdict == "none" and nearest and nearest[0].score >= grounding.COVERED_FLOOR:
        # The library does hold sources on the topic, but research missed them (a small model
        # searched for the wrong thing): search the topic itself before saying no.
        history: list[BaseMessage] = list(state.get("research_messages") or [])
        searched = await search_questions(
            runtime, state, [state["topic"]], history, "missed_the_topic"
        )
        update["research_messages"] = searched
        found, sources, outline = grounding.assess(
            ctx.library, state["topic"], state["outline"], collect_sources(history + searched)
        )
    return {**update, "coverage": found, "sources": sources, "outline": outline}
