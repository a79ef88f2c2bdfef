"""revise: the writer rewrites the draft to fix the editor's issues, and on a later turn of a
session to make the reader's change (`amend`); review then looks again."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import RemoveMessage
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.runtime import Runtime

from agent.context import WriterContext, article_tokens
from agent.prompts import blocks, contracts
from agent.spans import traced_node
from agent.state import ArticleState


@traced_node("revise")
async def revise(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    verdict = state["verdict"]
    assert verdict is not None, "revise runs only after a verdict"
    llm, messages = runtime.context.prompt(
        contracts.REVISE,
        output_tokens=article_tokens(state["target_words"]),
        streams=True,
        audience=state["audience"],
        tone=state["tone"],
        target_words=state["target_words"],
        issues=blocks.list_block(verdict.issues, "issues"),
        change=blocks.change_block(state.get("amendment"), _instruction(state)),
        sources=state.get("sources") or [],  # rendered to fit the model's context
        draft=blocks.draft_block(state["draft"], state["target_words"]),
    )
    response = await llm.ainvoke(messages)
    return {
        "draft": response.text,
        "revisions": state.get("revisions", 0) + 1,
        # The next review starts a fresh conversation about the new draft.
        "review_messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES)],
        "editor_rounds": 0,
        "verdict": None,
        "amendment": None,  # made: the editor's later rounds fix only what it measures
    }


def _instruction(state: ArticleState) -> str:
    follow_up = state.get("follow_up")
    return follow_up.instruction if follow_up else ""
