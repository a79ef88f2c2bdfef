"""Whether a load's traces reached the tracking server whole: stored, finalized, every span.

A trace the API returned an id for but the server does not hold with all its spans is lost;
the API's log says where it went (MLflow's or OpenTelemetry's queue was full, an export failed).
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import TraceInfo

from bench.harness import Server, finalized, trace_infos

# What MLflow and OpenTelemetry log when they drop spans or traces, and when an export call
# fails; counted in the traced API's log so a loss can be attributed.
DROP_MARKERS = (
    "Trace export queue is full",  # MLflow's async export queue (MLFLOW_TRACE_QUEUE_SIZE)
    "Queue full, dropping",  # OpenTelemetry's batch span processor (2048 spans)
    "Failed to send trace",
    "Failed to log",
    "Failed to export",
)


def wait_until_stored(
    client: MlflowClient,
    experiment_id: str,
    trace_ids: list[str],
    started_ms: int,
    stall_s: float = 30,
) -> tuple[dict[str, TraceInfo], float]:
    """Polls until every returned trace id is stored and finalized, or nothing new arrives for
    `stall_s`; returns what is stored and when the last of it was seen, in seconds after
    `started_ms` (the load's first request)."""
    expected = set(trace_ids)
    since_ms = started_ms - 5000  # a trace's timestamp is its root span's start
    done, seen_s = -1, 0.0
    last_progress = time.monotonic()
    while True:
        infos = {i.trace_id: i for i in trace_infos(client, experiment_id, since_ms)}
        complete = sum(1 for t in expected if t in infos and finalized(infos[t]))
        now = time.monotonic()
        if complete != done:
            done, last_progress = complete, now
            seen_s = time.time() - started_ms / 1000
        if complete == len(expected) or now - last_progress > stall_s:
            return infos, seen_s
        time.sleep(2)


def stored_span_counts(db: Path | str, trace_ids: list[str]) -> dict[str, int]:
    """Spans the server's store holds per trace, read from its sqlite file (read-only; the
    server keeps writing) or its PostgreSQL database (a URL)."""
    query = "SELECT trace_id, COUNT(*) FROM spans WHERE trace_id IN ({}) GROUP BY 1"
    counts: dict[str, int] = {}
    if isinstance(db, str):
        import psycopg

        with psycopg.connect(db) as pg:
            for chunk in _chunks(trace_ids):
                marks = ",".join(["%s"] * len(chunk))
                counts.update(pg.execute(query.format(marks), chunk).fetchall())
        return counts
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        for chunk in _chunks(trace_ids):
            counts.update(conn.execute(query.format(",".join("?" * len(chunk))), chunk).fetchall())
    return counts


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def log_markers(api: Server) -> Counter[str]:
    """How often each drop or export-failure message appears in the API's log so far.

    Counted from the API's start, not the phase's: MLflow logs a full export queue at most
    once every 30 s, so a phase can drop traces without a message of its own.
    """
    text = api.output()
    return Counter({m: text.count(m) for m in DROP_MARKERS if m in text})
