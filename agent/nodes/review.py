"""review: the editor measures the draft with its tools, then decides: revise or finalize."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime
from pydantic import ValidationError

from agent.context import WriterContext
from agent.state import ArticleState, ReviewVerdict
from agent.tools import EDITOR_TOOLS
from agent.tracing import traced_node


@traced_node("review")
async def review(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    history: list[BaseMessage] = list(state.get("review_messages") or [])
    llm, opening = runtime.context.prompt(
        "article-review",
        audience=state["audience"],
        target_words=state["target_words"],
        draft=state["draft"],
    )
    new = [] if history else opening
    editor = llm.bind_tools(EDITOR_TOOLS, response_format=ReviewVerdict)
    response = await editor.ainvoke(history + new)
    update: dict[str, Any] = {"review_messages": [*new, response]}
    if response.tool_calls:
        update["editor_rounds"] = state.get("editor_rounds", 0) + 1
    else:
        update["verdict"] = read_verdict(response.text)
    return update


def read_verdict(text: str) -> ReviewVerdict:
    """The editor's JSON verdict; one that cannot be read lets the draft through, and says so."""
    try:
        return ReviewVerdict.model_validate_json(text)
    except ValidationError:
        return ReviewVerdict(decision="finalize", issues=["The editor's verdict was unreadable."])
