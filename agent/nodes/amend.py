"""amend: a later turn of a session starts here, reading the reader's instruction as one change
to the article it has (`agent.amendments`), then on to `revise`, or to `review` for a cut."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from agent import amendments, structured
from agent.context import WriterContext
from agent.prompts import blocks, contracts
from agent.spans import traced_node
from agent.state import ArticleState

AMEND_TOKENS = 200  # one small JSON object


@traced_node("amend")
async def amend(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    ctx = runtime.context
    follow_up = state["follow_up"]
    assert follow_up is not None, "amend runs only on a follow-up"
    llm, messages = ctx.prompt(
        contracts.AMEND,
        output_tokens=AMEND_TOKENS,
        instruction=blocks.instruction_block(follow_up.instruction),
        article=blocks.article_block(state["article"], state["audience"], state["tone"]),
    )
    asked = await structured.ask(llm, messages, contracts.AMEND.answer, "follow-up")
    return amendments.apply(asked, state, follow_up, ctx.library)
