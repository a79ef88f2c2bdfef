"""`writer eval` (the golden set, scored and gated, optionally compared with an earlier run)
and `writer monitor` (scheduled LLM judges on new traces)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli.prompts import use_mlflow
from cli.settings import Settings

EVALS = Path(__file__).resolve().parents[1] / "evals"


def add(commands: Any) -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    evaluate = commands.add_parser("eval", help="run the golden set, score it, gate on bars")
    evaluate.add_argument("--dataset", type=Path, default=EVALS / "golden.yaml")
    evaluate.add_argument(
        "--thresholds",
        type=Path,
        default=EVALS / "thresholds.yaml",
    )
    evaluate.add_argument("--limit", type=int, help="only the first N cases of each set")
    evaluate.add_argument(
        "--topics",
        type=Path,
        default=EVALS / "topics.yaml",
        help="the labelled topics of the coverage bar, run after the golden set and gated on "
        "evals/coverage_thresholds.yaml",
    )
    evaluate.add_argument("--no-topics", action="store_true", help="skip the coverage bar")
    evaluate.add_argument(
        "--compare",
        metavar="RUN_ID",
        help="print each metric beside this earlier run's, exit 1 when one regressed "
        "(exit 2 when the run is not in the tracking store)",
    )
    evaluate.add_argument(
        "--max-regression",
        type=float,
        default=0.05,
        help="with --compare: the largest fall allowed in a higher-is-better metric, absolute "
        "(they are shares from 0 to 1; default 0.05, five points)",
    )
    evaluate.add_argument(
        "--max-cost-increase",
        type=float,
        default=0.25,
        help="with --compare: the largest rise allowed in latency_seconds and total_tokens "
        "(lower is better), as a share of the earlier value (default 0.25)",
    )
    watch = commands.add_parser("monitor", help="start scheduled LLM judges on new traces")
    watch.add_argument("--endpoint", help="AI Gateway endpoint that serves the judge model")
    watch.add_argument("--sample-rate", type=float, default=0.1)
    return {"eval": _eval, "monitor": _monitor}


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    import mlflow

    import tracing
    from agent import spans
    from evals import compare, coverage, run
    from service.turn import ArticleWriter

    tracing.configure(settings, spans.PROCESSORS)
    earlier = None
    if args.compare:
        # Before the evaluation, which takes minutes: a mistyped id fails at once.
        try:
            earlier = compare.earlier_run(args.compare)
        except compare.UnknownRun as exc:
            print(f"error: --compare: {exc}", file=sys.stderr)
            return 2
    records = run.load_cases(args.dataset, args.limit)
    # The run is linked to the agent version it measured: the UI's "Agent versions" page.
    mlflow.set_experiment(settings.mlflow_experiment_name)
    version = ArticleWriter(settings).version
    model_id = version.activate()
    print(f"Evaluating {len(records)} cases with {settings.model_name} ({version.name})...")
    outcome = run.evaluate(
        settings,
        records,
        args.thresholds,
        dataset=run.dataset_name(args.dataset, args.limit),
        model_id=model_id,
    )
    if outcome.skipped:
        print(outcome.skipped)
    _report(outcome, len(records))
    passed = outcome.passed
    if not args.no_topics:
        topics = coverage.load_topics(args.topics, args.limit)
        print(f"\nThe coverage bar: {len(topics)} labelled topics ({args.topics.name})...")
        named = coverage.DATASET_NAME + (f"-first-{args.limit}" if args.limit else "")
        bar = run.evaluate(
            settings,
            topics,
            coverage.THRESHOLDS,
            dataset=named,
            model_id=model_id,
            scorers=coverage.SCORERS,
            predict=coverage.predictor(settings),
        )
        _report(bar, len(topics))
        passed = passed and bar.passed
    regressed: list[compare.Change] = []
    if earlier is not None:
        changes = compare.compare(
            outcome.metrics, earlier.data.metrics, args.max_regression, args.max_cost_increase
        )
        regressed = [c for c in changes if c.regressed]
        print(f"\nCompared with run {earlier.info.run_id}:")
        print("\n".join(compare.table(changes)))
        if (before := compare.datasets(earlier)) != [outcome.dataset_name]:
            print(f"note: that run evaluated {', '.join(before) or 'no logged dataset'}")
    base = settings.ui_url
    if base:
        run_info = mlflow.get_run(outcome.run_id)
        print(f"\nRun: {base}/#/experiments/{run_info.info.experiment_id}/runs/{outcome.run_id}")
    else:
        print(f"\nRun id: {outcome.run_id} (MLFLOW_TRACKING_URI={settings.mlflow_tracking_uri})")
    tracing.flush()
    if passed:
        print("Evaluation gate: passed")
    else:
        print("Evaluation gate: FAILED", file=sys.stderr)
    if regressed:
        names = ", ".join(c.metric for c in regressed)
        print(f"Comparison with {args.compare}: REGRESSED ({names})", file=sys.stderr)
    elif earlier is not None:
        print(f"Comparison with {args.compare}: no regression")
    return 0 if passed and not regressed else 1


def _report(outcome: Any, cases: int) -> None:
    print(f"\n{'metric':<32} {'value':>10}  {'bar':<8} result")
    bars = {c.metric: c for c in outcome.checks}
    for metric in sorted(outcome.metrics):
        value = outcome.metrics[metric]
        bar = bars.get(metric)
        verdict = "" if bar is None else ("pass" if bar.passed else "FAIL")
        print(f"{metric:<32} {value:>10.3f}  {bar.bound if bar else '':<8} {verdict}")
    for missing in (c for c in outcome.checks if c.value is None):
        print(f"{missing.metric:<32} {'missing':>10}  {missing.bound:<8} FAIL")
    if outcome.dataset_id:
        print(f"\nDataset: {outcome.dataset_name} ({outcome.dataset_id}, {cases} cases)")
    else:
        print("\nDataset: not registered (this tracking store holds no datasets)")


def _monitor(args: argparse.Namespace, settings: Settings) -> int:
    from evals import monitor

    use_mlflow(settings)
    started, message = monitor.start(settings, args.endpoint, args.sample_rate)
    print(message, file=sys.stdout if started else sys.stderr)
    return 0 if started else 2
