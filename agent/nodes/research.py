"""research: the model calls search_sources and read_source until it has evidence.

Models that make no tool call (small local ones often do not) still get evidence: the node
then searches the outline's research questions itself, and the trace says so. The
conversation stops growing when it would no longer fit the model's context.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.config import get_config
from langgraph.prebuilt import ToolRuntime
from langgraph.runtime import Runtime

import tracing
from agent.context import WriterContext
from agent.prompts import blocks, contracts
from agent.research.sources import Passage
from agent.spans import traced_node
from agent.state import ArticleState, Source
from agent.tools import read_source, research_tools, search_sources, search_web

MAX_SOURCES = 8
MAX_PASSAGES_PER_SOURCE = 5
RESEARCH_TOKENS = 400  # tool calls, or one line per question
FALLBACK_K = 4
FALLBACK_EVENT = "research_fallback"


@traced_node("research")
async def research(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    ctx = runtime.context
    history: list[BaseMessage] = list(state.get("research_messages") or [])
    llm, opening = ctx.prompt(
        contracts.RESEARCH,
        output_tokens=RESEARCH_TOKENS,
        topic=state["topic"],
        outline=blocks.outline_block(state["outline"], state["topic"], state["target_words"]),
        questions=blocks.list_block(state["outline"].research_questions, "questions"),
    )
    new = [] if history else opening
    if history and not ctx.fits(history, RESEARCH_TOKENS):
        # The tool results fill the context: research ends with what it has (the last
        # message is a tool result, so the graph moves on).
        tracing.record_event(FALLBACK_EVENT, reason="context_full", searches=0)
        return {"sources": collect_sources(history)}
    response = await llm.bind_tools(research_tools(ctx)).ainvoke(history + new)
    rounds = state.get("research_rounds", 0) + (1 if response.tool_calls else 0)
    messages: list[BaseMessage] = [*new, response]
    if not response.tool_calls and not collect_sources(history):
        reason = "no_tool_calls" if not _searched(history) else "nothing_found"
        messages += await search_questions(
            runtime, state, state["outline"].research_questions, history, reason
        )
    return {
        "research_messages": messages,
        "research_rounds": rounds,
        "sources": collect_sources(history + messages),
    }


async def search_questions(
    runtime: Runtime[WriterContext],
    state: ArticleState,
    questions: list[str],
    history: list[BaseMessage],
    reason: str,
) -> list[BaseMessage]:
    """Searches each question not yet searched, as the app's own tool calls (the model
    stopped without evidence); `reason` goes on the trace."""
    searched = _asked(history, "search_sources", "query")
    wanted = [q for q in dict.fromkeys(questions) if q.strip().lower() not in searched]
    calls = [(search_sources, {"query": q, "k": FALLBACK_K}) for q in wanted]
    return await _call_tools(runtime, state, calls, reason)


async def read_documents(
    runtime: Runtime[WriterContext],
    state: ArticleState,
    source_ids: list[str],
    history: list[BaseMessage],
    reason: str,
) -> list[BaseMessage]:
    """Reads each document not yet read, as the app's own tool calls (research missed the
    documents on the topic); `reason` goes on the trace."""
    read = _asked(history, "read_source", "source_id")
    calls = [(read_source, {"source_id": i}) for i in dict.fromkeys(source_ids) if i not in read]
    return await _call_tools(runtime, state, calls, reason)


async def search_the_web(
    runtime: Runtime[WriterContext],
    state: ArticleState,
    queries: list[str],
    history: list[BaseMessage],
    reason: str,
) -> list[BaseMessage]:
    """Searches the web for each query not yet searched there, as the app's own tool calls
    (the library lacks the topic); `reason` goes on the trace."""
    searched = _asked(history, "search_web", "query")
    wanted = [q for q in dict.fromkeys(queries) if q.strip().lower() not in searched]
    return await _call_tools(runtime, state, [(search_web, {"query": q}) for q in wanted], reason)


def unreachable(messages: list[BaseMessage]) -> list[str]:
    """What web research could not reach, and why, as its tools reported it."""
    found = [
        str(item["unreachable"])
        for message in messages
        if isinstance(message, ToolMessage) and isinstance(message.artifact, list)
        for item in message.artifact
        if isinstance(item, dict) and "unreachable" in item
    ]
    return list(dict.fromkeys(found))


def _asked(history: list[BaseMessage], tool: str, argument: str) -> set[str]:
    return {
        str(call["args"].get(argument, "")).strip().lower()
        for message in history
        if isinstance(message, AIMessage)
        for call in message.tool_calls
        if call["name"] == tool
    }


async def _call_tools(
    runtime: Runtime[WriterContext],
    state: ArticleState,
    wanted: list[tuple[BaseTool, dict[str, Any]]],
    reason: str,
) -> list[BaseMessage]:
    calls = [
        ToolCall(name=tool.name, args=args, id=f"fallback-{i}", type="tool_call")
        for i, (tool, args) in enumerate(wanted)
    ]
    searches = sum(call["name"] == search_sources.name for call in calls)
    tracing.record_event(
        FALLBACK_EVENT, reason=reason, searches=searches, reads=len(calls) - searches
    )
    # Written as the tool calls they are, so the conversation and the trace read as usual.
    made = AIMessage(content="", tool_calls=calls, name="research_fallback")
    tools = {tool.name: tool for tool, _ in wanted}
    results: list[BaseMessage] = [
        await tools[call["name"]].ainvoke(
            {**call, "args": {**call["args"], "runtime": tool_runtime(runtime, state, call)}}
        )
        for call in calls
    ]
    return [made, *results]


def tool_runtime(
    runtime: Runtime[WriterContext], state: ArticleState, call: ToolCall
) -> ToolRuntime[WriterContext, ArticleState]:
    """What LangGraph's ToolNode would hand the tool, for a call the app makes itself."""
    return ToolRuntime(
        state=state,
        context=runtime.context,
        config=get_config(),
        stream_writer=runtime.stream_writer,
        tool_call_id=call["id"],
        store=runtime.store,
    )


def _searched(history: list[BaseMessage]) -> bool:
    return any(isinstance(m, AIMessage) and m.tool_calls for m in history)


def collect_sources(messages: list[BaseMessage]) -> list[Source]:
    """Sources in the order research met them, with the passages it saw of each.

    Passages that a search ranked come first; a document read whole adds its other sections.
    """
    found: dict[str, Source] = {}
    for message in messages:
        if not isinstance(message, ToolMessage) or not isinstance(message.artifact, list):
            continue
        for item in message.artifact:
            if "source_id" not in item:  # a provider that could not be reached
                continue
            source = found.get(item["source_id"])
            if source is None:
                if len(found) >= MAX_SOURCES:
                    continue
                source = found[item["source_id"]] = Source(
                    id=item["source_id"], title=item["title"], passages=[]
                )
            seen = {p.text for p in source.passages}
            if item["text"] not in seen and len(source.passages) < MAX_PASSAGES_PER_SOURCE:
                source.passages.append(Passage.model_validate(item))
    return list(found.values())
