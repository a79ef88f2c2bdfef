"""research: the model calls search_sources and read_source until it has evidence."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage
from langgraph.runtime import Runtime

from agent import briefs
from agent.context import WriterContext
from agent.state import ArticleState, Source, SourcePassage
from agent.tracing import traced_node

MAX_SOURCES = 8
MAX_PASSAGES_PER_SOURCE = 5


@traced_node("research")
async def research(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    ctx = runtime.context
    history: list[BaseMessage] = list(state.get("research_messages") or [])
    llm, opening = ctx.prompt(
        "article-research",
        topic=state["topic"],
        outline=briefs.outline_block(state["outline"]),
        questions=briefs.list_block(state["outline"].research_questions),
    )
    new = [] if history else opening
    response = await llm.bind_tools(ctx.research_tools).ainvoke(history + new)
    rounds = state.get("research_rounds", 0) + (1 if response.tool_calls else 0)
    return {
        "research_messages": [*new, response],
        "research_rounds": rounds,
        "sources": collect_sources(history),
    }


def collect_sources(messages: list[BaseMessage]) -> list[Source]:
    """Sources in the order research met them, with the passages it saw of each.

    Passages that a search ranked come first; a document read whole adds its other sections.
    """
    found: dict[str, Source] = {}
    for message in messages:
        if not isinstance(message, ToolMessage) or not isinstance(message.artifact, list):
            continue
        for item in message.artifact:
            source = found.get(item["source_id"])
            if source is None:
                if len(found) >= MAX_SOURCES:
                    continue
                source = found[item["source_id"]] = Source(
                    id=item["source_id"], title=item["title"], passages=[]
                )
            seen = {p.text for p in source.passages}
            if item["text"] not in seen and len(source.passages) < MAX_PASSAGES_PER_SOURCE:
                source.passages.append(SourcePassage(section=item["section"], text=item["text"]))
    return list(found.values())
