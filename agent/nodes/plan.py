"""plan: a structured outline and research questions, from what the library says on the topic."""

from __future__ import annotations

from typing import Any

import mlflow
from langgraph.runtime import Runtime
from mlflow.entities import SpanType

from agent import structured
from agent.context import WriterContext
from agent.prompts import blocks, contracts
from agent.research.sources import Hit, SourceLibrary
from agent.spans import traced_node
from agent.state import ArticleState

BACKGROUND_PASSAGES = 8
OUTLINE_TOKENS = 700  # an outline of six sections and eight questions fits in far less


def background(library: SourceLibrary, topic: str) -> list[Hit]:
    """A first look at the library, so that the plan only promises what the sources hold."""
    with mlflow.start_span("background_search", span_type=SpanType.RETRIEVER) as span:
        span.set_inputs({"query": topic, "k": BACKGROUND_PASSAGES})
        hits = library.search(topic, BACKGROUND_PASSAGES)
        # The document shape MLflow's UI renders for retriever spans.
        span.set_outputs(
            [
                {
                    "page_content": h.passage.text,
                    "metadata": {"doc_uri": h.passage.source_id, "score": h.score},
                }
                for h in hits
            ]
        )
        return hits


@traced_node("plan")
async def plan(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    ctx = runtime.context
    llm, messages = ctx.prompt(
        contracts.PLAN,
        output_tokens=OUTLINE_TOKENS,
        topic=state["topic"],
        audience=state["audience"],
        tone=state["tone"],
        target_words=state["target_words"],
        background=blocks.background_block(background(ctx.library, state["topic"]), state["topic"]),
    )
    outline = await structured.ask(llm, messages, contracts.PLAN.answer, "plan")
    return {"outline": outline}
