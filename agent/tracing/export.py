"""The background export: traces MLflow dropped, counted, and the queue written out."""

from __future__ import annotations

import logging

import mlflow

from agent import internals

log = logging.getLogger(__name__)


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


def flush() -> None:
    """Writes out traces still queued for the background exporter."""
    try:
        mlflow.flush_trace_async_logging()
    except Exception as exc:
        log.warning("flushing traces failed: %s", type(exc).__name__)
