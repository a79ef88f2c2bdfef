"""GET /debug/runtime: counts that show leaks (tasks, MLflow's in-memory traces, memory).

Off unless RUNTIME_STATS_ENABLED=true: it is for tests, benchmarks and operators, not clients.
"""

from __future__ import annotations

import asyncio

import psutil
from fastapi import APIRouter

from tracing import EXPORT_FAILURES, internals

router = APIRouter(tags=["operations"])


def _rss_bytes() -> int:
    """The process's resident memory now: psutil's `memory_info().rss` (Linux: /proc's VmRSS)."""
    return int(psutil.Process().memory_info().rss)


@router.get("/debug/runtime")
async def runtime() -> dict[str, int]:
    return {
        "tasks": len(asyncio.all_tasks()),
        # MLflow keeps a trace here until its root span ends; one left behind is a leak.
        "in_memory_traces": internals.traces_in_memory(),
        "rss_bytes": _rss_bytes(),
        # Traces MLflow could not write and dropped; its "queue full" warnings (a lower bound:
        # MLflow logs that at most every 30 s).
        "traces_dropped": EXPORT_FAILURES.traces_dropped,
        "export_queue_full_warnings": EXPORT_FAILURES.queue_full,
    }
