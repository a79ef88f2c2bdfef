"""coverage: the gate between research and drafting. No sources on the topic, no article."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent import grounding
from agent.context import WriterContext
from agent.state import ArticleState
from agent.tracing import traced_node


@traced_node("coverage")
async def coverage(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    found, sources, outline = grounding.assess(
        runtime.context.library, state["topic"], state["outline"], state.get("sources") or []
    )
    return {"coverage": found, "sources": sources, "outline": outline}
