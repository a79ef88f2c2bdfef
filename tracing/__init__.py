"""MLflow tracing for the app, the bottom layer: setup, span processors, the export, the
tracking connection, and the span helpers the nodes use. Import from here; each module holds
one of those jobs. Nothing here imports the layers above."""

from tracing.export import EXPORT_FAILURES, ExportFailures, flush
from tracing.health import TrackingConnection, keep_checking, public_uri, server_answers
from tracing.processors import (
    CANCELLED,
    MIN_SECRET_CHARS,
    TOKEN_EVENT,
    describe_cancellation,
    drop_token_events,
    fold_tool_artifacts,
    redactor,
)
from tracing.setup import MLFLOW_ENV, configure
from tracing.spans import (
    NODE_SPAN,
    end_open_spans,
    record_event,
    record_span,
)

__all__ = [
    "CANCELLED",
    "EXPORT_FAILURES",
    "MIN_SECRET_CHARS",
    "MLFLOW_ENV",
    "NODE_SPAN",
    "TOKEN_EVENT",
    "ExportFailures",
    "TrackingConnection",
    "configure",
    "describe_cancellation",
    "drop_token_events",
    "end_open_spans",
    "flush",
    "fold_tool_artifacts",
    "keep_checking",
    "public_uri",
    "record_event",
    "record_span",
    "redactor",
    "server_answers",
]
