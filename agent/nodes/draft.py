"""draft: the article in Markdown, citing the numbered sources as [n]."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import RemoveMessage
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.runtime import Runtime

from agent.context import WriterContext, article_tokens
from agent.prompts import blocks, contracts
from agent.spans import traced_node
from agent.state import ArticleState


@traced_node("draft")
async def draft(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    llm, messages = runtime.context.prompt(
        contracts.DRAFT,
        output_tokens=article_tokens(state["target_words"]),
        streams=True,
        topic=state["topic"],
        title=state["outline"].title,
        audience=state["audience"],
        tone=state["tone"],
        target_words=state["target_words"],
        outline=blocks.outline_block(state["outline"], state["topic"], state["target_words"]),
        sources=state.get("sources") or [],  # rendered to fit the model's context
    )
    response = await llm.ainvoke(messages)
    return {
        "draft": response.text,
        # Research's conversation has served: `sources` holds what it found. Dropping it keeps
        # every later step's state small, and with it each later span of the trace.
        "research_messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES)],
    }
