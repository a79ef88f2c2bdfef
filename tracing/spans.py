"""The app's own spans: node state spans, events on them, and spans a cancelled run left open."""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import mlflow
from mlflow.entities import LiveSpan, SpanEvent, SpanType
from mlflow.entities.span import NoOpSpan

from agent import citations
from agent.state import Article
from tracing import internals


def end_open_spans(root: LiveSpan, reason: str) -> int:
    """Ends, as ERROR, every span of the root's trace still open below it; returns how many.

    A run that is cancelled mid-call (the client hung up, the request timed out) can leave the
    model call's span open: LangChain reports the end of a cancelled streaming call from a
    shielded task that never gets to run. MLflow holds back a trace until all its spans have
    ended, so without this the trace would never be stored and would stay in memory.
    """
    ended = 0
    for span in internals.spans_in_memory(root.trace_id):
        if span.span_id != root.span_id and not internals.has_ended(span):
            span.set_attribute("error.reason", reason)
            span.set_status("ERROR")
            span.end()
            ended += 1
    return ended


# The state span of the node running in this task. After a model call, autolog's inline tracer
# leaves the ended chat span as the "active" one, so events a node records after its calls go
# here instead.
NODE_SPAN: contextvars.ContextVar[LiveSpan | None] = contextvars.ContextVar(
    "node_span", default=None
)


def record_event(
    name: str, *, on_active_span: bool = False, **attributes: str | int | float | bool
) -> None:
    """An event on the running node's state span (a fallback taken, a prompt trimmed), or,
    `on_active_span`, on the span active now (a model call, while its HTTP request runs)."""
    node = None if on_active_span else NODE_SPAN.get()
    span = node or mlflow.get_current_active_span()
    if span is not None:
        # MLflow declares SpanEvent's proto converter abstract; the event itself is complete.
        span.add_event(SpanEvent(name, attributes=dict(attributes)))  # type: ignore[abstract]


def record_span(name: str, span_type: str, attributes: dict[str, Any], outputs: Any = None) -> None:
    """A finished child span of the running node's state span: one step the node took that a
    reader of the trace should see on its own (a source graded, say), with its verdict."""
    parent = NODE_SPAN.get() or mlflow.get_current_active_span()
    if parent is None or isinstance(parent, NoOpSpan):
        return
    span = mlflow.start_span_no_context(
        name, span_type=span_type, parent_span=parent, attributes=attributes
    )
    span.set_outputs(outputs if outputs is not None else attributes)
    span.end()


NodeFn = Callable[..., Awaitable[dict[str, Any]]]


def state_attributes(state: dict[str, Any]) -> dict[str, Any]:
    """The numbers a reader of the trace wants per step."""
    attrs: dict[str, Any] = {
        "state.iteration": state.get("revisions", 0),
        "state.research_rounds": state.get("research_rounds", 0),
        "state.sources": len(state.get("sources") or []),
    }
    if coverage := state.get("coverage"):
        attrs["state.coverage"] = coverage.verdict
        attrs["state.coverage_score"] = coverage.score
    if outline := state.get("outline"):
        attrs["state.sections"] = len(outline.sections)
    if draft := state.get("draft"):
        attrs["state.words"] = citations.count_words(draft)
    if amendment := state.get("amendment"):
        attrs["state.amendment"] = amendment.action
    if verdict := state.get("verdict"):
        attrs["state.decision"] = verdict.decision
        attrs["state.issues"] = len(verdict.issues)
    return attrs


def _preview(value: Any) -> Any:
    if isinstance(value, list):
        return f"{len(value)} item(s)"
    if isinstance(value, str) and len(value) > 300:
        return value[:300] + "..."
    if isinstance(value, Article):  # its text is the node span's output
        return f"{value.title} ({value.word_count} words)"
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return value


def traced_node(name: str) -> Callable[[NodeFn], NodeFn]:
    """Wraps a graph node in a manual span that records the state the node leaves behind.

    Autolog already gives each node a span with its raw inputs and outputs; this one adds the
    `state.*` attributes that make a trace readable at a glance.
    """

    def decorate(node: NodeFn) -> NodeFn:
        @functools.wraps(node)
        async def run(state: dict[str, Any], runtime: Any) -> dict[str, Any]:
            with mlflow.start_span(f"{name}.state", span_type=SpanType.CHAIN) as span:
                NODE_SPAN.set(span)  # the node runs in a task of its own: this stays in it
                if isinstance(span, NoOpSpan):  # untraced: no summary is worth computing
                    return await node(state, runtime)
                span.set_inputs(state_attributes(state))
                started = time.perf_counter()
                update = await node(state, runtime)
                span.set_attributes(state_attributes({**state, **update}))
                span.set_attribute("node.seconds", round(time.perf_counter() - started, 4))
                span.set_outputs({key: _preview(value) for key, value in update.items()})
                return update

        return run

    return decorate
