"""How the agent spends its time, from its traces: `GET /analytics/tools`, `writer tools`.

Per tool: calls, error rate, p50 and p95 duration (from TOOL spans). Per graph node: runs, p50
and p95, and its share of the articles' time (the node's spans' total duration over the root
spans'). Per article: tokens and duration, p50 and p95. Every figure is one of MLflow's trace
metrics, computed by the tracking server in SQL over the window (`tracing.internals.
trace_metrics`): nothing is read span by span here, so the cost is a handful of queries
whatever the window holds, and the window is bounded like a search's (`service.trace_search`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from agent.graph import build_graph
from tracing import internals

ROOT_SPAN = "write_article"  # service.turn's root span
NODES = [name for name in build_graph().nodes if not name.startswith("__")]  # in the order added
SPANS, TRACES = "SPANS", "TRACES"
P50, P95 = "P50", "P95"
ARTICLES = ["trace.tag.outcome = 'article'"]  # service.trace_record's outcome tag


@dataclass(frozen=True)
class Window:
    tracking_uri: str
    experiment_id: str
    since: dt.datetime
    until: dt.datetime

    def metric(
        self,
        view: str,
        metric: str,
        aggregations: list[str],
        dimensions: list[str] | None = None,
        filters: list[str] | None = None,
    ) -> list[tuple[dict[str, str], dict[str, float]]]:
        """MLflow's rows, with its percentile keys (`P50.0`) named as asked (`P50`)."""
        rows = internals.trace_metrics(
            self.tracking_uri,
            self.experiment_id,
            view,
            metric,
            aggregations,
            dimensions,
            filters,
            int(self.since.timestamp() * 1000),
            int(self.until.timestamp() * 1000),
        )
        return [
            (dims, {key.removesuffix(".0"): round(value, 1) for key, value in values.items()})
            for dims, values in rows
        ]


def report(window: Window) -> dict[str, Any]:
    """The window's tools, nodes and articles, each figure from MLflow's trace metrics."""
    return {
        "since": window.since.isoformat(timespec="seconds"),
        "until": window.until.isoformat(timespec="seconds"),
        "tools": tools(window),
        "nodes": nodes(window),
        "articles": articles(window),
    }


def tools(window: Window) -> list[dict[str, Any]]:
    """Each tool the agent called in the window, most called first."""
    is_tool = ["span.type = 'TOOL'"]
    calls: dict[str, int] = {}
    errors: dict[str, int] = {}
    for dims, values in window.metric(
        SPANS, "span_count", ["COUNT"], ["span_name", "span_status"], is_tool
    ):
        name, count = dims["span_name"], int(values["COUNT"])
        calls[name] = calls.get(name, 0) + count
        if dims["span_status"] == "ERROR":
            errors[name] = errors.get(name, 0) + count
    timing = _by_name(window.metric(SPANS, "latency", [P50, P95], ["span_name"], is_tool))
    return sorted(
        (
            {
                "tool": name,
                "calls": n,
                "errors": errors.get(name, 0),
                "error_rate": round(errors.get(name, 0) / n, 4),
                "p50_ms": timing[name][P50],
                "p95_ms": timing[name][P95],
            }
            for name, n in calls.items()
        ),
        key=lambda row: (-row["calls"], row["tool"]),
    )


def nodes(window: Window) -> list[dict[str, Any]]:
    """Each graph node that ran in the window, in the graph's node order, with its share of the
    time of the runs it was part of (every root span in the window)."""
    # Every span name in two queries: the nodes' and the root span's figures among them.
    timing = _by_name(window.metric(SPANS, "latency", ["AVG", P50, P95], ["span_name"]))
    counts = _by_name(window.metric(SPANS, "span_count", ["COUNT"], ["span_name"]))

    def total_ms(name: str) -> float:
        return timing[name]["AVG"] * counts[name]["COUNT"]

    runs_ms = total_ms(ROOT_SPAN) if ROOT_SPAN in timing else 0
    return [
        {
            "node": name,
            "runs": int(counts[name]["COUNT"]),
            "p50_ms": timing[name][P50],
            "p95_ms": timing[name][P95],
            "share_of_time": round(total_ms(name) / runs_ms, 4) if runs_ms else None,
        }
        for name in NODES
        if name in timing
    ]


def articles(window: Window) -> dict[str, Any]:
    """Articles written in the window (traces whose outcome is an article): how many, and
    their tokens and duration."""
    count = window.metric(TRACES, "trace_count", ["COUNT"], None, ARTICLES)
    n = int(count[0][1]["COUNT"]) if count else 0
    if not n:
        return {"count": 0}
    ((_, tokens),) = window.metric(TRACES, "total_tokens", [P50, P95], None, ARTICLES)
    ((_, took),) = window.metric(TRACES, "latency", [P50, P95], None, ARTICLES)
    return {
        "count": n,
        "tokens_p50": tokens[P50],
        "tokens_p95": tokens[P95],
        "duration_ms_p50": took[P50],
        "duration_ms_p95": took[P95],
    }


def _by_name(rows: list[tuple[dict[str, str], dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {dims["span_name"]: values for dims, values in rows}
