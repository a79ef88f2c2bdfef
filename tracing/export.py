"""The background export: traces MLflow dropped, counted, and the queue written out."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import mlflow
from mlflow.entities import Trace
from mlflow.entities.model_registry import PromptVersion

from tracing import internals

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


# Traces the app stores itself (a distributed request's: tracing.distributed), one at a
# time beside MLflow's exporter, so the answer does not wait for the tracking server.
_storing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-store")
_pending: set[Future[None]] = set()
_lock = threading.Lock()


def store_later(trace: Trace, prompts: list[PromptVersion]) -> None:
    future = _storing.submit(_store, trace, prompts)
    with _lock:
        _pending.add(future)
    future.add_done_callback(_stored)


def _stored(future: Future[None]) -> None:
    with _lock:
        _pending.discard(future)


def _store(trace: Trace, prompts: list[PromptVersion]) -> None:
    try:
        internals.store_trace(trace, prompts)
    except Exception as exc:  # the tracking server down or refusing: dropped, and counted
        EXPORT_FAILURES.traces_dropped += 1
        log.warning("Failed to send trace %s: %s", trace.info.trace_id, type(exc).__name__)


def flush(timeout_s: float = 60) -> None:
    """Writes out traces still queued for the background exporter, and the app's own."""
    with _lock:
        waiting = list(_pending)
    try:
        for future in waiting:
            future.result(timeout=timeout_s)
        mlflow.flush_trace_async_logging()
    except Exception as exc:
        log.warning("flushing traces failed: %s", type(exc).__name__)
