"""Every use of a library's internals, behind one door: MLflow, OpenTelemetry, LangGraph.

Each is here because no public call does the job, and each says why. `tests/agent/
test_internals.py` checks every one against the installed versions, and pyproject.toml caps
those libraries below the next minor release: an upgrade is a change to the caps, a run of
that test file, and a look here at whatever it names (docs/development.md, "Upgrading").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mlflow.entities import (
    LiveSpan,
    SpanStatusCode,
    Trace,
    TraceInfo,
    TraceLocation,
    TraceState,
)
from mlflow.entities.model_registry import PromptVersion
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode
from mlflow.tracing.constant import SpanAttributeKey, TraceMetadataKey, TraceSizeStatsKey
from mlflow.tracing.trace_manager import InMemoryTraceManager
from mlflow.tracing.utils import (
    add_size_stats_to_trace_metadata,
    calculate_cost_by_model_and_token_usage,
    generate_mlflow_trace_id_from_otel_trace_id,
)
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.util import BoundedList
from opentelemetry.trace import SpanContext

# --- spans: MLflow's LiveSpan wraps an OpenTelemetry span ---------------------------------


def raw_attributes(span: LiveSpan) -> dict[str, Any]:
    """The span's attributes as MLflow stores them, JSON strings, without decoding each one.

    `LiveSpan.attributes` decodes every value (whole conversations) on each read; a processor
    that only searches the text for secrets needs the strings as they are.
    """
    return dict(span._span.attributes or {})


def raw_inputs_outputs(span: LiveSpan) -> tuple[Any, Any]:
    """The span's inputs and outputs as stored (JSON strings), read without decoding them: a
    processor decides from the text whether the value is worth decoding at all."""
    attributes = span._span.attributes or {}
    return attributes.get(SpanAttributeKey.INPUTS), attributes.get(SpanAttributeKey.OUTPUTS)


def has_ended(span: LiveSpan) -> bool:
    """LiveSpan has no public "ended" flag; its OpenTelemetry span's end time says."""
    return span._span.end_time is not None


def drop_events(span: LiveSpan, name: str) -> int:
    """Removes the span's events called `name`; returns how many. Neither MLflow nor
    OpenTelemetry can remove an event, so the OpenTelemetry span's event list is rebuilt."""
    otel = span._span
    kept = [event for event in otel.events if event.name != name]
    dropped = len(otel.events) - len(kept)
    if dropped:
        otel._events = BoundedList.from_seq(getattr(otel._events, "maxlen", None), kept)
    return dropped


# --- traces MLflow still holds in memory ------------------------------------------------


def spans_in_memory(trace_id: str) -> list[LiveSpan]:
    """The spans of a trace not yet exported. MLflow has no public call for them, and a
    cancelled run must end the ones it left open, or the trace is never exported."""
    with InMemoryTraceManager.get_instance().get_trace(trace_id) as trace:
        return list(trace.span_dict.values()) if trace else []


def traces_in_memory() -> int:
    """How many traces MLflow holds in memory: one left behind after its request is a leak."""
    return len(InMemoryTraceManager.get_instance()._traces)


# --- a trace that goes on from a caller's (W3C trace context, tracing.distributed) ---


@contextmanager
def remote_parent(parent: SpanContext) -> Iterator[None]:
    """The caller's span as the current one for MLflow's tracer, which keeps its own context
    apart from OpenTelemetry's global one (as `set_tracing_context_from_http_request_headers`
    does; that call also registers and drops the trace, which `hold_remote_trace` does
    instead)."""
    from mlflow.tracing.provider import get_context_api

    context = get_context_api()
    token = context.attach(otel_trace.set_span_in_context(otel_trace.NonRecordingSpan(parent)))
    try:
        yield
    finally:
        context.detach(token)


def hold_remote_trace(otel_trace_id: int, request_time_ms: int) -> str:
    """Registers the caller's trace as one whose spans this process records, in the app's
    experiment, and returns its MLflow id.

    MLflow's `set_tracing_context_from_http_request_headers` registers a placeholder without
    a location and drops it when its block ends. Its background exporter, which sends spans
    later, then finds no trace for them and drops them, and nothing writes the trace's info
    (user, session, previews): MLflow leaves that to the caller. A second request with the same
    parent would also replace the first one's record. The app registers an info it can store
    itself instead, once for every request on the parent (`take_remote_trace`, `store_trace`).
    """
    from mlflow.tracing.constant import TRACE_SCHEMA_VERSION, TRACE_SCHEMA_VERSION_KEY
    from mlflow.tracking.fluent import _get_experiment_id

    info = TraceInfo(
        trace_id=generate_mlflow_trace_id_from_otel_trace_id(otel_trace_id),
        # MLflow's Default experiment when none is set, where its own traces go then.
        trace_location=TraceLocation.from_experiment_id(_get_experiment_id() or "0"),
        request_time=request_time_ms,
        state=TraceState.IN_PROGRESS,
        trace_metadata={TRACE_SCHEMA_VERSION_KEY: str(TRACE_SCHEMA_VERSION)},
    )
    InMemoryTraceManager.get_instance().register_trace(otel_trace_id, info, is_remote_trace=True)
    return info.trace_id


def take_remote_trace(otel_trace_id: int) -> tuple[Trace, list[PromptVersion]] | None:
    """The held trace, out of MLflow's memory (its exporter then skips the spans it has not
    sent yet), with its time, duration and state taken from the app's root span, as MLflow
    does for a trace of its own; None if it holds no span."""
    taken = InMemoryTraceManager.get_instance().pop_trace(otel_trace_id)
    if taken is None or not taken.trace.data.spans:
        return None
    trace = taken.trace
    ids = {span.span_id for span in trace.data.spans}
    roots = [span for span in trace.data.spans if span.parent_id not in ids]
    start = min(span.start_time_ns for span in roots)
    end = max(span.end_time_ns or span.start_time_ns for span in roots)
    trace.info.request_time = start // 1_000_000
    trace.info.execution_duration = (end - start) // 1_000_000
    if trace.info.state == TraceState.IN_PROGRESS:
        failed = any(span.status.status_code == SpanStatusCode.ERROR for span in roots)
        trace.info.state = TraceState.ERROR if failed else TraceState.OK
    add_size_stats_to_trace_metadata(trace)  # the span count, as MLflow's exporter records it
    return trace, list(taken.prompts)


def store_trace(trace: Trace, prompts: list[PromptVersion]) -> None:
    """Writes a taken trace as MLflow's exporter writes its own: spans, then the info (which
    marks it finalized), then the prompt versions it used. The tracking server merges the
    info with what the caller stores of the same trace."""
    from mlflow.tracing.client import TracingClient

    client = TracingClient()
    assert trace.info.experiment_id, "hold_remote_trace gave it one"
    client.log_spans(trace.info.experiment_id, trace.data.spans)
    client.start_trace(trace.info)
    if prompts:
        client.link_prompt_versions_to_trace(trace.info.trace_id, prompts)


# --- MLflow's trace metrics (service.analytics) ------------------------------------------


def trace_metrics(
    tracking_uri: str,
    experiment_id: str,
    view: str,
    metric: str,
    aggregations: list[str],
    dimensions: list[str] | None,
    filters: list[str] | None,
    start_ms: int,
    end_ms: int,
) -> list[tuple[dict[str, str], dict[str, float]]]:
    """Aggregates the tracking server computes in SQL over a window's spans or traces (what
    the MLflow UI's overview charts read), as (dimensions, values) rows. Only MLflow's store
    has the call; no public client does yet. `aggregations`: AVG, MIN, MAX, COUNT, or P50 and
    the like for a percentile."""
    from mlflow.entities.trace_metrics import AggregationType, MetricAggregation, MetricViewType
    from mlflow.tracing.client import TracingClient

    wanted = [
        MetricAggregation(AggregationType.PERCENTILE, float(name[1:]))
        if name.startswith("P")
        else MetricAggregation(AggregationType(name))
        for name in aggregations
    ]
    store = TracingClient(tracking_uri).store
    rows: list[tuple[dict[str, str], dict[str, float]]] = []
    token: str | None = None
    while True:
        page = store.query_trace_metrics(
            [experiment_id],
            MetricViewType(view),
            metric,
            wanted,
            dimensions=dimensions,
            filters=filters,
            start_time_ms=start_ms,
            end_time_ms=end_ms,
            page_token=token,
        )
        rows.extend((point.dimensions, point.values) for point in page)
        if not (token := page.token):
            return rows


# --- what the tracking server says of a stored trace only in its metadata ---------------


def info_finalized(info: TraceInfo) -> bool:
    """Whether the exporter's last call for the trace, its info (tags, metadata), is stored.
    Spans are stored as they end, which can mark a trace finished before that; only a metadata
    key named in MLflow's internal constants tells."""
    return info.trace_metadata.get(TraceMetadataKey.TRACE_INFO_FINALIZED) == "true"


def recorded_span_count(info: TraceInfo) -> int | None:
    """The span count the exporter recorded in the trace's size stats (None: not recorded), to
    check that every span arrived. TraceInfo has no public field for it."""
    raw = info.trace_metadata.get(TraceMetadataKey.SIZE_STATS)
    return json.loads(raw).get(TraceSizeStatsKey.NUM_SPANS) if raw else None


# --- what MLflow says only in its log -------------------------------------------------

# MLflow's background exporter drops a trace it could not write, or finds its queue full, and
# says so only in these loggers, in these words.
EXPORT_LOGGERS = ("mlflow.tracing.export.mlflow_v3", "mlflow.tracing.export.async_export_queue")


def says_trace_dropped(message: str) -> bool:
    return message.startswith("Failed to send trace")


def says_queue_full(message: str) -> bool:
    return "queue is full" in message


# --- LangGraph ---------------------------------------------------------------------------


def run_context(config: Any) -> Any:
    """The run's `context` (agent.context.WriterContext), for a routing function.

    LangGraph hands nodes and tools their runtime, but calls a `Runnable` route with only its
    config, where the runtime sits under an internal key; `get_runtime()` needs a runnable
    context a route is not called in.
    """
    from langgraph._internal._constants import CONFIG_KEY_RUNTIME

    return config["configurable"][CONFIG_KEY_RUNTIME].context


class ImmediateTransactions:
    """An aiosqlite connection whose explicit transactions take the write lock when they begin.

    LangGraph's sqlite store runs each batch in a `BEGIN` (deferred) transaction, and batches
    a request's reads with another's writes: when the checkpointer commits on its own
    connection between the two, SQLite refuses the upgrade from reading to writing with
    "database is locked" at once, without waiting (its snapshot is stale). A transaction that
    begins IMMEDIATE waits for the other writer instead (the connection's busy timeout). The
    store offers no setting for the kind of transaction, so its `BEGIN` is rewritten here.
    """

    BEGIN = "BEGIN"

    def __init__(self, db: Any) -> None:
        self._db = db
        self.begun = 0  # transactions begun IMMEDIATE (tests/tracing/test_internals.py)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def execute(self, sql: str, parameters: Any = None) -> Any:
        if sql.strip().upper() == self.BEGIN:
            self.begun += 1
            sql = "BEGIN IMMEDIATE"
        return self._db.execute(sql, parameters)


# --- prices, prompts, error codes -------------------------------------------------------


def price_usd(model: str, input_tokens: int, output_tokens: int, provider: str) -> float | None:
    """USD for the tokens from MLflow's own price table (None: MLflow has no price). MLflow
    prices spans store-side; the response's `cost_usd` needs the same figure in process."""
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    cost = calculate_cost_by_model_and_token_usage(model, usage, provider)
    return float(cost["total_cost"]) if cost else None


def prompt_version(
    name: str, version: int, messages: list[dict[str, str]], description: str, config: Any
) -> PromptVersion:
    """A bundled prompt file as MLflow's own PromptVersion, so bundled and registered prompts
    format alike. MLflow builds these only from the registry; its constructor is not public."""
    return PromptVersion(  # type: ignore[abstract]  # from_proto is unused here
        name, version, messages, commit_message=description, model_config=config or None
    )


NOT_FOUND = ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)  # MlflowException.error_code of a miss


def is_missing_gateway_endpoint(error_code: str, message: str) -> bool:
    """The tracking server's answer when a scheduled judge names an endpoint it lacks: the
    code alone is shared with every other miss, so the message tells them apart."""
    return error_code == NOT_FOUND and "Gateway" in message


def derived_preview(value: Any, role: str) -> str | None:
    """The preview MLflow derives from a root span's inputs (`role="user"`) or outputs
    (`"assistant"`) when none was set, as the tracking server does when it stores spans."""
    from mlflow.tracing.utils.truncation import _get_truncated_preview

    return _get_truncated_preview(json.dumps(value), role=role)
