"""coverage: the gate between research and drafting. No sources on the topic, no article.

The rule of `agent.research.subject` grades every source research found; when the model grades
sources too (SOURCE_GRADER), it sees those the rule kept and may drop any it finds off the
topic, as in LangGraph's corrective-RAG pattern: grade the documents, then decide. Each grade is
a span.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime
from mlflow.entities import SpanType

import tracing
from agent import structured
from agent.context import WriterContext
from agent.failures import Unwritable
from agent.nodes.research import collect_sources, read_documents, search_the_web, unreachable
from agent.prompts import blocks, contracts
from agent.research import grounding, subject
from agent.spans import traced_node
from agent.state import ArticleState, Coverage, Source

GRADE_TOKENS = 80  # per source: a number, a boolean and one sentence
# Per source, the passages research ranked best: enough to tell what a source is about, and
# a grade prompt that stays small beside the draft's.
GRADE_PASSAGES = 2
UNGRADED_EVENT = "model_grades_unusable"  # the rule's grades stand


@traced_node("coverage")
async def coverage(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    ctx = runtime.context
    topic = state["topic"]
    sources = state.get("sources") or []
    found, kept, outline = grounding.assess(ctx.library, topic, state["outline"], sources)
    update: dict[str, Any] = {}
    history: list[BaseMessage] = list(state.get("research_messages") or [])
    added: list[BaseMessage] = []
    if found.verdict == "none" and (missed := grounding.documents_on(ctx.library, topic)):
        # The library does hold documents on the topic, but research missed them (a model
        # searched for the wrong thing): read them before saying no.
        added += await read_documents(runtime, state, missed, history, "missed_the_topic")
        sources = collect_sources(history + added)
        found, kept, outline = grounding.assess(ctx.library, topic, state["outline"], sources)
    if found.verdict == "none" and ctx.web is not None:
        # Not in the library: the web, where the app may look, before saying no.
        added += await search_the_web(runtime, state, [topic], history + added, "not_in_library")
        sources = collect_sources(history + added)
        found, kept, outline = grounding.assess(ctx.library, topic, state["outline"], sources)
    if added:
        update["research_messages"] = added
    if ctx.model_grades and kept:
        grades = await _model_grades(runtime, topic, kept)
        found, kept, outline = grounding.assess(
            ctx.library, topic, state["outline"], sources, grades
        )
    found.unreachable = unreachable(history + added)
    _trace_grades(found)
    return {**update, "coverage": found, "sources": kept, "outline": outline}


async def _model_grades(
    runtime: Runtime[WriterContext], topic: str, sources: list[Source]
) -> dict[str, tuple[bool, str]]:
    """The model's grade of each source the rule kept, by id. A source the model leaves out
    of its answer keeps the rule's grade; so do all, with an event saying so, when its answer
    cannot be used even after it was shown its error (the rule has already judged them)."""
    ctx = runtime.context
    llm, messages = ctx.prompt(
        contracts.GRADE,
        output_tokens=GRADE_TOKENS * len(sources) + 40,
        topic=topic,
        subject=blocks.list_block(subject.subject(topic).names, "subject"),
        sources=[s.model_copy(update={"passages": s.passages[:GRADE_PASSAGES]}) for s in sources],
    )
    try:
        answer = await structured.ask(
            llm, messages, contracts.GRADE.answer, "grades of the sources"
        )
    except Unwritable:
        tracing.record_event(UNGRADED_EVENT, sources=len(sources))
        return {}
    by_number = {g.source: g for g in answer.grades}
    return {
        src.id: (g.relevant, f"the model: {g.reason}")
        for n, src in enumerate(sources, 1)
        if (g := by_number.get(n)) is not None
    }


def _trace_grades(found: Coverage) -> None:
    for grade in found.grades:
        tracing.record_span(
            "grade_source",
            SpanType.EVALUATOR,
            {
                "source.id": grade.id,
                "grade.relevant": grade.relevant,
                "grade.by": grade.by,
                "grade.share": grade.share,
                "grade.reason": grade.reason,
            },
        )
