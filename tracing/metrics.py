"""Request-level metrics over OTLP, beside MLflow's span-duration histogram
(`mlflow.trace.span.duration`): articles by outcome, and tokens.

Off unless OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set: the counters then record into
OpenTelemetry's no-op provider, which costs nothing worth measuring. When it is set, the app
installs the global meter provider at start-up (traced or not), and MLflow's span metrics go
through the same one.
"""

from __future__ import annotations

import logging

from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider

from tracing.settings import TracingSettings

log = logging.getLogger(__name__)
SPAN_DURATION = "mlflow.trace.span.duration"
# MLflow labels each span's duration with every tag and metadata item of its trace, the user
# and the session among them: a new series per session, which the SDK keeps, and sends again in
# every export, for as long as the process runs (bench.dual_export: the exports grew to 110 KiB
# each after 100 articles). Only labels with a bounded set of values are kept.
SPAN_DURATION_LABELS = frozenset(
    {
        "root",
        "span_type",
        "span_status",
        "experiment_id",
        "tags.outcome",
        "tags.prompt.alias",
        "tags.prompt.source",
        "metadata.session.turn_kind",
        "metadata.llm.provider",
        "metadata.llm.model",
        "metadata.app.version",
    }
)
_meter = metrics.get_meter("article-writer")
TURNS = _meter.create_counter(
    "writer.turns", unit="{turn}", description="Turns of sessions, by kind and outcome."
)
TOKENS = _meter.create_counter(
    "writer.tokens", unit="{token}", description="Model tokens, by direction (input, output)."
)


def configure(settings: TracingSettings) -> None:
    """Installs the OTLP/HTTP meter provider when a metrics endpoint is set; once a process."""
    endpoint = settings.otel_exporter_otlp_metrics_endpoint
    if not endpoint or isinstance(metrics.get_meter_provider(), MeterProvider):
        return
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.metrics.view import View

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=endpoint),
        export_interval_millis=settings.otel_metric_export_interval,
    )
    bounded = View(instrument_name=SPAN_DURATION, attribute_keys=set(SPAN_DURATION_LABELS))
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader], views=[bounded]))
    log.info("metrics: OTLP to %s every %s ms", endpoint, settings.otel_metric_export_interval)


def shutdown() -> None:
    """Sends what is left before the process ends."""
    provider = metrics.get_meter_provider()
    if isinstance(provider, MeterProvider):
        provider.shutdown()


def record_turn(kind: str, outcome: str, input_tokens: int = 0, output_tokens: int = 0) -> None:
    TURNS.add(1, {"kind": kind, "outcome": outcome})
    if input_tokens or output_tokens:
        TOKENS.add(input_tokens, {"direction": "input"})
        TOKENS.add(output_tokens, {"direction": "output"})
