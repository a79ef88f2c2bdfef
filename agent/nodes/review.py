"""review: the editor measures the draft with its tools, then decides: revise or finalize.

Two calls, not one: the tools first, then the decision as a structured answer. Servers that
enforce a response format by grammar (llama.cpp) obey only the format when a request also
offers tools, so an editor asked for both would never measure anything.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI
from langgraph.runtime import Runtime
from pydantic import ValidationError

from agent import structured
from agent.context import WriterContext
from agent.failures import Unwritable
from agent.prompts import blocks, contracts
from agent.spans import traced_node
from agent.state import ArticleState, ReviewVerdict
from agent.tools import EDITOR_TOOLS

EDITOR_TOKENS = 400  # tool calls, or a verdict with a few issues
UNREADABLE = "The editor's verdict was unreadable, so the draft went through unrevised."
# The decision request must end with a user turn: llama.cpp continues a trailing assistant
# turn as a prefill, and then cannot apply the response format's grammar.
DECIDE = HumanMessage(
    'Now decide. Reply with only JSON: {"decision": "revise" or "finalize", "issues": [...]}.'
)


@traced_node("review")
async def review(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    history: list[BaseMessage] = list(state.get("review_messages") or [])
    llm, opening = runtime.context.prompt(
        contracts.REVIEW,
        output_tokens=EDITOR_TOKENS,
        audience=state["audience"],
        target_words=state["target_words"],
        draft=blocks.draft_block(state["draft"], state["target_words"]),
    )
    new = [] if history else opening
    response = await llm.bind_tools(EDITOR_TOOLS).ainvoke(history + new)
    update: dict[str, Any] = {"review_messages": [*new, response]}
    if response.tool_calls:
        update["editor_rounds"] = state.get("editor_rounds", 0) + 1
        return update
    try:  # a model that answered the verdict along with its measurements saves a call
        update["verdict"] = structured.parse(contracts.REVIEW.answer, response.text)
    except ValidationError:
        update["verdict"] = await decide(llm, [*history, *new, response, DECIDE])
    return update


async def decide(llm: ChatOpenAI, conversation: list[BaseMessage]) -> ReviewVerdict:
    """The editor's decision on what it measured; an unusable one lets the draft through,
    and says so, since a draft in hand is worth more than a failed run."""
    try:
        return await structured.ask(llm, conversation, contracts.REVIEW.answer, "review decision")
    except Unwritable:
        return ReviewVerdict(decision="finalize", issues=[UNREADABLE])
