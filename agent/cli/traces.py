"""`writer traces`: this app's traces as a table, as GET /traces finds them."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections.abc import Callable
from typing import Any

from agent.request import ID_PATTERN, PATTERN_RULES
from agent.settings import Settings


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

    def run(args: argparse.Namespace, settings: Settings) -> int:
        for name in ("user", "session"):
            value = getattr(args, name)
            if value is not None and not re.fullmatch(ID_PATTERN, value):
                show.error(f"--{name}: {PATTERN_RULES[ID_PATTERN]}")
        if not 1 <= args.limit <= 100:
            show.error("--limit: 1 to 100")
        return _show(args, settings)

    return {"traces": run}


def _show(args: argparse.Namespace, settings: Settings) -> int:
    import mlflow
    from mlflow import MlflowClient

    from agent import trace_search

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
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    experiment = mlflow.get_experiment_by_name(settings.mlflow_experiment_name)
    if experiment is None:
        print(f"no experiment {settings.mlflow_experiment_name!r} yet", file=sys.stderr)
        return 1
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    found, _ = trace_search.search(client, experiment.experiment_id, wanted, now)
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
