"""The tools the model calls: research over the source library, and the editor's checks.

Research tools answer with JSON for the model and keep the structured hits as the tool message's
artifact, which the research node reads to know which sources were found. Editor tools read the
current draft from the graph state (`InjectedState`), so the model never has to copy the article
into a tool call.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.prebuilt import InjectedState, ToolRuntime
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agent import citations
from agent import readability as reading
from agent.context import WriterContext
from agent.research import web
from agent.research.sources import Passage
from agent.state import Source

MAX_K = 10


def _passage_json(passage: Passage, score: float | None = None) -> dict[str, Any]:
    found: dict[str, Any] = passage.model_dump()
    if score is not None:
        found["score"] = score
    return found


def _for_model(found: list[dict[str, Any]]) -> str:
    """The hits as the model reads them: where each is from is the app's to say."""
    shown = [{k: v for k, v in hit.items() if k not in ("origin", "location")} for hit in found]
    return json.dumps(shown, ensure_ascii=False)


@tool(response_format="content_and_artifact")
def search_sources(
    query: str, runtime: ToolRuntime[WriterContext], k: int = 5
) -> tuple[str, list[dict[str, Any]]]:
    """Search the source library. Returns up to k passages (1-10), most relevant first, each
    with its source_id, document title, section and text."""
    hits = runtime.context.library.search(query, max(1, min(k, MAX_K)))
    found = [_passage_json(hit.passage, hit.score) for hit in hits]
    return _for_model(found), found


@tool(response_format="content_and_artifact")
def read_source(
    source_id: str, runtime: ToolRuntime[WriterContext]
) -> tuple[str, list[dict[str, Any]]]:
    """Read a whole source document by the source_id that search_sources returned."""
    doc = runtime.context.library.get(source_id)
    if doc is None:
        raise ToolException(f"No source has id {source_id!r}; use an id from search_sources.")
    return doc.markdown, [_passage_json(p) for p in doc.passages]


read_source.handle_tool_error = True  # an unknown id goes back to the model as the answer


@tool(response_format="content_and_artifact")
async def search_web(
    query: str, runtime: ToolRuntime[WriterContext]
) -> tuple[str, list[dict[str, Any]]]:
    """Search the web (the providers the app allows) for pages on a query. Returns passages
    of the pages found, each with its source_id, page title, section and text."""
    config = runtime.context.web
    if config is None:
        raise ToolException("Web search is off on this server (WEB_SEARCH); use search_sources.")
    found = await web.search(config, query)
    hits: list[dict[str, Any]] = [_passage_json(p) for p in web.passages(found)]
    said = _for_model(hits)
    if found.unreachable:
        said += "\nNot reached: " + "; ".join(found.unreachable)
    return said, [*hits, *({"unreachable": u} for u in found.unreachable)]


search_web.handle_tool_error = True
# The library each run searches is its context's (`runtime`, which LangGraph injects and
# leaves out of the schema the model sees), so one list serves every run and the module graph.
# The model is offered search_web only when the run's context has web providers.
RESEARCH_TOOLS: list[BaseTool] = [search_sources, read_source, search_web]


def research_tools(context: WriterContext) -> list[BaseTool]:
    return RESEARCH_TOOLS if context.web else [search_sources, read_source]


REPEATED = "Already done: this exact call was made earlier; use its result."


ToolCallExecutor = Callable[[ToolCallRequest], Awaitable[ToolMessage | Command]]


def skip_repeated_calls(
    messages_key: str,
) -> Callable[[ToolCallRequest, ToolCallExecutor], Awaitable[ToolMessage | Command]]:
    """A ToolNode wrapper that answers a tool call repeating an earlier one of the same
    conversation without running it again.

    Small models repeat a search word for word, or measure the same draft ten times in one
    round; each repeat adds the same text to the conversation and spends a round on nothing.
    """

    async def wrap(request: ToolCallRequest, execute: ToolCallExecutor) -> ToolMessage | Command:
        call = request.tool_call
        before = []  # every call made before this one, in order
        for message in request.state.get(messages_key) or []:
            if isinstance(message, AIMessage):
                for made in message.tool_calls:
                    if made["id"] == call["id"]:
                        break
                    before.append((made["name"], json.dumps(made["args"], sort_keys=True)))
        if (call["name"], json.dumps(call["args"], sort_keys=True)) in before:
            return ToolMessage(REPEATED, tool_call_id=call["id"], name=call["name"])
        return await execute(request)

    return wrap


@tool
def word_count(
    draft: Annotated[str, InjectedState("draft")],
    target_words: Annotated[int, InjectedState("target_words")],
) -> dict[str, Any]:
    """Count the words of the current draft's prose and compare them with the target length."""
    words = citations.count_words(draft)
    return {"words": words, "target": target_words, "ratio": round(words / target_words, 2)}


@tool
def readability(draft: Annotated[str, InjectedState("draft")]) -> dict[str, Any]:
    """Flesch reading ease (higher is easier; 50-70 suits general readers) and US grade level
    of the current draft."""
    measured = reading.measure(citations.plain_text(draft))
    return {
        "flesch_reading_ease": measured.reading_ease,
        "grade_level": measured.grade,
        "sentences": measured.sentences,
    }


@tool
def check_citations(
    draft: Annotated[str, InjectedState("draft")],
    sources: Annotated[list[Source], InjectedState("sources")],
) -> dict[str, Any]:
    """Check that every [n] in the current draft names one of the numbered sources and that
    every paragraph cites at least one."""
    report = citations.check(draft, len(sources))
    return {
        "sources": len(sources),
        "cited": report.cited,
        "invalid": report.invalid,
        "uncited_paragraphs": report.uncited_paragraphs,
        "coverage": report.coverage,
    }


EDITOR_TOOLS: list[BaseTool] = [word_count, readability, check_citations]
