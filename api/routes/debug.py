"""GET /debug/runtime: counts that show leaks (tasks, MLflow's in-memory traces, memory).

Off unless RUNTIME_STATS_ENABLED=true: it is for tests, benchmarks and operators, not clients.
"""

from __future__ import annotations

import asyncio
import resource
from pathlib import Path

from fastapi import APIRouter

from agent import internals
from agent.tracing import EXPORT_FAILURES

router = APIRouter(tags=["operations"])


def _rss_bytes() -> int:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # peak, where no /proc


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
