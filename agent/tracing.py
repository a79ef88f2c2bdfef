"""MLflow tracing for the app: setup, the tracking connection, node state spans, trace links."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import mlflow
from mlflow.entities import LiveSpan, SpanEvent, SpanStatus, SpanType

from agent import citations, internals
from agent.settings import Settings

log = logging.getLogger(__name__)

# MLflow's own settings that the app sets from `Settings`, so they too have one home.
# The HTTP ones bound how long the background exporter keeps retrying a tracking server that
# is down (MLflow's defaults retry for minutes).
MLFLOW_ENV = {
    "MLFLOW_TRACE_TIMEOUT_SECONDS": "mlflow_trace_timeout_seconds",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "mlflow_http_max_retries",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "mlflow_http_timeout_seconds",
    "MLFLOW_MODEL_CATALOG_URI": "mlflow_model_catalog_uri",
    "MLFLOW_ASYNC_TRACE_LOGGING_MAX_SPAN_BATCH_SIZE": "mlflow_trace_span_batch_size",
    "MLFLOW_ASYNC_TRACE_LOGGING_MAX_INTERVAL_MILLIS": "mlflow_trace_batch_interval_ms",
    "MLFLOW_ASYNC_TRACE_LOGGING_MAX_WORKERS": "mlflow_trace_export_workers",
    "MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE": "mlflow_trace_queue_size",
    "MLFLOW_TRACE_EXTRACT_ATTACHMENTS": "mlflow_trace_extract_attachments",
    "MLFLOW_TRACE_SAMPLING_RATIO": "mlflow_trace_sampling_ratio",
}
SECRET_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{16,}")
# Shorter values are never masked: replacing every "x" of a one-letter key would garble every
# span, and a key that short protects nothing (local servers take any key).
MIN_SECRET_CHARS = 8
TOKEN_EVENT = "new_token"  # what mlflow.langchain's tracer names a streamed chunk


def configure(settings: Settings) -> None:
    """Points MLflow at the tracking server and turns on LangChain autologging."""
    for env, attr in MLFLOW_ENV.items():
        value = getattr(settings, attr)
        if value is not None:
            os.environ[env] = str(value).lower() if isinstance(value, bool) else str(value)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.registry_uri)
    if not settings.tracing_enabled:
        mlflow.langchain.autolog(disable=True)
        mlflow.tracing.disable()
        return
    mlflow.tracing.enable()
    # Inline tracer: manual spans opened inside a node nest under that node.
    mlflow.langchain.autolog(run_tracer_inline=True, silent=True)
    processors = [redactor(settings.secrets()), describe_cancellation]
    if not settings.trace_token_events:
        processors.append(drop_token_events)
    mlflow.tracing.configure(span_processors=processors)
    EXPORT_FAILURES.watch()


class ExportFailures(logging.Handler):
    """Counts the traces MLflow could not write to the tracking server, and so dropped.

    MLflow's background exporter retries a write a few times (MLFLOW_HTTP_MAX_RETRIES), then
    drops the trace and says so only in its log, as it does when its queue is full. This
    handler counts those log records, so `/ready` and `/debug/runtime` can say how many.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.traces_dropped = 0
        self.queue_full = 0  # MLflow logs this at most every 30 s, so it is a lower bound

    def watch(self) -> None:
        for name in internals.EXPORT_LOGGERS:
            if self not in logging.getLogger(name).handlers:
                logging.getLogger(name).addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if internals.says_trace_dropped(message):
            self.traces_dropped += 1
        elif internals.says_queue_full(message):
            self.queue_full += 1


EXPORT_FAILURES = ExportFailures()


def redactor(secrets: list[str]) -> Callable[[LiveSpan], None]:
    """A span processor that masks secrets before a span leaves the process."""
    secrets = [secret for secret in secrets if len(secret) >= MIN_SECRET_CHARS]

    def mask(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "[REDACTED]")
        return SECRET_PATTERN.sub("[REDACTED]", text)

    def process(span: LiveSpan) -> None:
        # MLflow holds every attribute as a JSON string. Searching those strings in place costs
        # far less than decoding each value (whole conversations) of every span to look.
        for key, raw in internals.raw_attributes(span).items():
            if isinstance(raw, str) and (masked := mask(raw)) != raw:
                span.set_attribute(key, json.loads(masked))

    return process


SENTINEL_TEXT = re.compile(r"^<object object at 0x[0-9a-f]+>$")
CANCELLED = "Cancelled: a time bound ran out, or the client went away, before it finished."


def describe_cancellation(span: LiveSpan) -> None:
    """A span processor that says in words why a cancelled span ended.

    LangGraph cancels a node that overruns its step bound with a bare `object()` as the
    cancellation's message, and LangChain's tracer writes that message as the status
    description: `<object object at 0x...>`.
    """
    status = span.status
    if SENTINEL_TEXT.match(status.description or ""):
        span.set_status(SpanStatus(status.status_code, description=CANCELLED))  # type: ignore[arg-type]


def drop_token_events(span: LiveSpan) -> None:
    """A span processor that removes autolog's per-token events from chat spans.

    Autolog adds one `new_token` event per streamed chunk; OpenTelemetry keeps only the first
    128 of them, and the span's outputs hold the whole text anyway. MLflow has no public call
    to remove events (`internals.drop_events`).
    """
    internals.drop_events(span, TOKEN_EVENT)


class TrackingConnection:
    """Whether the tracking server answers, and the experiment traces go to.

    The app serves articles whether or not the server is up; this only decides what `/ready`
    says and whether trace links can be built. `keep_checking` retries until it connects.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.experiment_id: str | None = None
        self.problem: str | None = "not checked yet"

    async def check(self) -> bool:
        uri = self.settings.mlflow_tracking_uri
        if not await server_answers(uri):
            self.problem = f"tracking server {public_uri(uri)} is unreachable"
            return False
        if self.experiment_id is None:
            try:
                experiment = await asyncio.to_thread(
                    mlflow.set_experiment, self.settings.mlflow_experiment_name
                )
                self.experiment_id = experiment.experiment_id
            except Exception as exc:  # any store failure leaves the app serving, untraced
                log.warning("could not set the MLflow experiment: %s", type(exc).__name__)
                self.problem = "tracking store refused the experiment"
                return False
        self.problem = None
        return True

    def trace_url(self, trace_id: str | None) -> str | None:
        base = self.settings.ui_url
        if not (trace_id and base and self.experiment_id):
            return None
        return f"{base}/#/experiments/{self.experiment_id}/traces?selectedEvaluationId={trace_id}"


async def keep_checking(checks: list[Callable[[], Awaitable[bool]]], every_s: float = 5.0) -> None:
    """Runs the checks forever: often while any fails, so recovery shows quickly; rarely after."""
    while True:
        results = [await check() for check in checks]
        await asyncio.sleep(every_s if not all(results) else every_s * 6)


async def server_answers(uri: str) -> bool:
    """True for a local store (sqlite, file), or an MLflow server whose /health answers."""
    if not uri.startswith(("http://", "https://")):
        return True
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            answer = await client.get(f"{uri.rstrip('/')}/health")
        return answer.status_code == 200
    except httpx.HTTPError:
        return False


def public_uri(uri: str) -> str:
    """The URI without credentials."""
    return re.sub(r"//[^/@]*@", "//", uri)


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


def flush() -> None:
    """Writes out traces still queued for the background exporter."""
    try:
        mlflow.flush_trace_async_logging()
    except Exception as exc:
        log.warning("flushing traces failed: %s", type(exc).__name__)


# --- node state spans ---------------------------------------------------------------------

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
    if verdict := state.get("verdict"):
        attrs["state.decision"] = verdict.decision
        attrs["state.issues"] = len(verdict.issues)
    return attrs


def _preview(value: Any) -> Any:
    if isinstance(value, list):
        return f"{len(value)} item(s)"
    if isinstance(value, str) and len(value) > 300:
        return value[:300] + "..."
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
                span.set_inputs(state_attributes(state))
                started = time.perf_counter()
                update = await node(state, runtime)
                span.set_attributes(state_attributes({**state, **update}))
                span.set_attribute("node.seconds", round(time.perf_counter() - started, 4))
                span.set_outputs({key: _preview(value) for key, value in update.items()})
                return update

        return run

    return decorate
