"""The agent as one hop of a distributed trace: a caller's W3C trace context goes on here.

A request whose `traceparent` header names a span gets no trace of its own: its root span is
a child of that span, in the caller's trace, and the trace id it answers with is the caller's
(`tr-` and the header's 32 hex digits). A malformed header is ignored: the request is traced
as if it had none. The model calls go on carrying the trace (`service.llm`).

MLflow's `set_tracing_context_from_http_request_headers` makes the caller's span the current
one, but its own record of the trace lasts only as long as its block: spans still queued for
the background exporter then find no trace and are dropped, and the trace's info (user,
session, previews, prompts) is left for the caller to write. So the app reads the header with
the OpenTelemetry propagator that call uses, makes the caller's span current itself, holds the
trace while the request runs, and stores it whole when the request ends, as MLflow's exporter
stores a trace of its own (on the export's thread, `tracing.export.store_later`, so the
answer does not wait). The tracking server merges it with whatever the caller stores under the
same id.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import trace as otel_trace
from opentelemetry.trace import SpanContext
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tracing import export, internals

log = logging.getLogger(__name__)
PROPAGATOR = TraceContextTextMapPropagator()
HEADERS = ("traceparent", "tracestate")

# Requests in this process that carry the same caller span (a caller that fans one span out to
# several calls): their spans share one trace, stored when the last of them ends.
_holding: Counter[int] = Counter()
_lock = threading.Lock()


def caller_context(headers: Mapping[str, str]) -> dict[str, str]:
    """The trace context a caller sent, `traceparent` and `tracestate`, if its `traceparent`
    names a span; else nothing (a malformed header is logged, at debug, and ignored)."""
    carrier = {name: headers[name] for name in HEADERS if headers.get(name)}
    if "traceparent" not in carrier:
        return {}
    if parent_span(carrier) is None:
        log.debug("ignored a malformed traceparent header")
        return {}
    return carrier


def parent_span(carrier: dict[str, str]) -> SpanContext | None:
    span = otel_trace.get_current_span(PROPAGATOR.extract(carrier)).get_span_context()
    return span if span.is_valid else None


@contextmanager
def continuing(carrier: dict[str, str]) -> Iterator[None]:
    """Spans started inside join the trace `carrier` names (`caller_context`); an empty
    carrier leaves them to start a trace of their own."""
    parent = parent_span(carrier) if carrier else None
    if parent is None:
        yield
        return
    with internals.remote_parent(parent):
        with _lock:
            if not _holding[parent.trace_id]:
                internals.hold_remote_trace(parent.trace_id, time.time_ns() // 1_000_000)
            _holding[parent.trace_id] += 1
        taken = None
        try:
            yield
        finally:
            with _lock:
                _holding[parent.trace_id] -= 1
                if not _holding[parent.trace_id]:  # the last request on this parent
                    del _holding[parent.trace_id]
                    taken = internals.take_remote_trace(parent.trace_id)
            if taken is not None:
                export.store_later(*taken)
