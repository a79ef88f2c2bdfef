"""The app's own spans: events and steps on the running node's span, and spans a cancelled run
left open. The agent's state span of each node (`agent.spans`) sets `NODE_SPAN`."""

from __future__ import annotations

import contextvars
from typing import Any

import mlflow
from mlflow.entities import LiveSpan, SpanEvent
from mlflow.entities.span import NoOpSpan

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
