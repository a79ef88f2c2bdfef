"""`writer traces`: this app's traces as a table, as GET /traces finds them; `writer tools`: how
the agent spends its time per tool, node and article, as GET /analytics/tools reports it."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from cli.settings import Settings
from service.request import ID_PATTERN, PATTERN_RULES


def add(commands: Any) -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    show = commands.add_parser("traces", help="this app's traces, newest first")
    show.add_argument("--user", help="only this user's")
    show.add_argument("--session", help="only this session's")
    show.add_argument("--status", choices=["OK", "ERROR", "IN_PROGRESS"])
    show.add_argument("--since", help="15m, 1h, 7d ago, or an ISO 8601 time (default: 7d)")
    show.add_argument("--until", help="the same; default: now")
    show.add_argument("--text", help="text the trace holds")
    show.add_argument("--limit", type=int, default=20, help="at most 100")
    show.add_argument("--json", action="store_true", help="print them as GET /traces does")

    tools = commands.add_parser("tools", help="per tool, node and article: calls, errors, times")
    tools.add_argument("--since", help="15m, 1h, 7d ago, or an ISO 8601 time (default: 7d)")
    tools.add_argument("--until", help="the same; default: now")
    tools.add_argument("--json", action="store_true", help="print it as GET /analytics/tools does")

    def run(args: argparse.Namespace, settings: Settings) -> int:
        for name in ("user", "session"):
            value = getattr(args, name)
            if value is not None and not re.fullmatch(ID_PATTERN, value):
                show.error(f"--{name}: {PATTERN_RULES[ID_PATTERN]}")
        if not 1 <= args.limit <= 100:
            show.error("--limit: 1 to 100")
        return _show(args, settings)

    return {"traces": run, "tools": _tools}


def _experiment(settings: Settings) -> str | None:
    import mlflow

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    experiment = mlflow.get_experiment_by_name(settings.mlflow_experiment_name)
    if experiment is None:
        print(f"no experiment {settings.mlflow_experiment_name!r} yet", file=sys.stderr)
        return None
    return str(experiment.experiment_id)


def _show(args: argparse.Namespace, settings: Settings) -> int:
    from mlflow import MlflowClient

    from service import trace_search

    now = dt.datetime.now(dt.UTC)
    try:
        wanted = trace_search.Search(
            user_id=args.user,
            session_id=args.session,
            status=args.status,
            since=trace_search.when(args.since, now) if args.since else None,
            until=trace_search.when(args.until, now) if args.until else None,
            q=args.text,
            limit=args.limit,
        )
        trace_search.filter_string(wanted, now)
    except trace_search.BadSearch as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if (experiment_id := _experiment(settings)) is None:
        return 1
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    found, _ = trace_search.search(client, experiment_id, wanted, now)
    rows = [trace_search.summary(trace) for trace in found]
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'time':<25} {'status':<6} {'user':<12} {'ms':>7} {'tokens':>7}  topic -> title")
    for row in rows:
        print(
            f"{row['time']:<25} {row['status']:<6} {(row['user_id'] or '-'):<12} "
            f"{row['duration_ms'] or 0:>7} {row['tokens'] or 0:>7}  "
            f"{row['topic']} -> {row['title']}   {row['trace_id']}"
        )
    return 0


def _tools(args: argparse.Namespace, settings: Settings) -> int:
    from service import analytics, trace_search

    now = dt.datetime.now(dt.UTC)
    try:
        since, until = trace_search.window_of(args.since, args.until, now)
    except trace_search.BadSearch as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if (experiment_id := _experiment(settings)) is None:
        return 1
    window = analytics.Window(settings.mlflow_tracking_uri, experiment_id, since, until)
    report = analytics.report(window)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['since']} to {report['until']}\n")
    print(f"{'tool':<18} {'calls':>6} {'err %':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for tool in report["tools"]:
        print(
            f"{tool['tool']:<18} {tool['calls']:>6} {tool['error_rate']:>7.1%} "
            f"{tool['p50_ms']:>8} {tool['p95_ms']:>8}"
        )
    print(f"\n{'node':<18} {'runs':>6} {'p50 ms':>8} {'p95 ms':>8} {'time':>6}")
    for node in report["nodes"]:
        share = node["share_of_time"]
        print(
            f"{node['node']:<18} {node['runs']:>6} {node['p50_ms']:>8} {node['p95_ms']:>8} "
            f"{'-' if share is None else f'{share:.0%}':>6}"
        )
    articles = report["articles"]
    print(f"\n{articles['count']} articles", end="")
    if articles["count"]:
        print(
            f": tokens p50 {articles['tokens_p50']}, p95 {articles['tokens_p95']}; "
            f"ms p50 {articles['duration_ms_p50']}, p95 {articles['duration_ms_p95']}",
            end="",
        )
    print()
    return 0
