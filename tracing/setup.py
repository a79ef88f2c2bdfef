"""Turning tracing on: MLflow's own settings from `TracingSettings`, autolog, the span
processors."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import mlflow
from mlflow.entities import LiveSpan
from pydantic import SecretStr

from tracing import metrics
from tracing.export import EXPORT_FAILURES
from tracing.processors import (
    describe_cancellation,
    drop_token_events,
    fold_tool_artifacts,
    redactor,
)
from tracing.settings import TracingSettings

Processor = Callable[[LiveSpan], None]

# MLflow's own settings that the app sets from `TracingSettings`, so they too have one home.
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
    # OpenTelemetry's own names, read by MLflow and the OTLP exporter from the environment.
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "otel_exporter_otlp_traces_endpoint",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "otel_exporter_otlp_traces_headers",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "otel_exporter_otlp_traces_protocol",
    "MLFLOW_TRACE_ENABLE_OTLP_DUAL_EXPORT": "mlflow_trace_enable_otlp_dual_export",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "otel_exporter_otlp_metrics_endpoint",
    "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "otel_exporter_otlp_metrics_protocol",
    "OTEL_METRIC_EXPORT_INTERVAL": "otel_metric_export_interval",
}


def configure(settings: TracingSettings, processors: Sequence[Processor] = ()) -> None:
    """Points MLflow at the tracking server and turns on LangChain autologging. `processors`:
    the layers above's own span processors (the agent's `agent.spans.PROCESSORS`), run first."""
    for env, attr in MLFLOW_ENV.items():
        value = getattr(settings, attr)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is not None:
            os.environ[env] = str(value).lower() if isinstance(value, bool) else str(value)
    metrics.configure(settings)  # before MLflow's span metrics look for a meter provider
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.registry_uri)
    if not settings.tracing_enabled:
        mlflow.langchain.autolog(disable=True)
        mlflow.tracing.disable()
        return
    mlflow.tracing.enable()
    # Inline tracer: manual spans opened inside a node nest under that node.
    mlflow.langchain.autolog(run_tracer_inline=True, silent=True)
    # The redactor runs last, on what is left to export.
    chain: list[Processor] = [*processors, fold_tool_artifacts, describe_cancellation]
    if not settings.trace_token_events:
        chain.append(drop_token_events)
    chain.append(redactor(settings.secrets()))
    mlflow.tracing.configure(span_processors=chain)
    EXPORT_FAILURES.watch()
