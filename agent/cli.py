"""`writer`: write an article, serve the API, or start MLflow and the API together.

writer write "How honeybees pollinate crops"   one article in this process, traced
writer serve                                   the API (uvicorn)
writer up                                      MLflow server + prompts sync + API: `make run`
writer offline-model --port 8100               the offline model on its own port
writer prompts sync [--alias A] [--dry-run]    register changed prompt files, move the alias
writer prompts promote staging production      move one alias to where another points
writer prompts set-alias NAME ALIAS VERSION    point an alias at a version (roll back)
writer prompts list | diff NAME V1 V2          what the registry holds
writer eval [--limit N] [--compare RUN_ID]     evaluate the golden set; exit 1 below the bars
writer monitor --endpoint NAME                 scheduled LLM judges on new traces
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.events import Event
from agent.request import DEFAULTS, TARGET_WORDS, topic_problem
from agent.settings import Settings


def _progress(stream: bool) -> Callable[[Event], None]:
    """Prints each node as it ends (and, streaming, the article's text as it is written)."""
    writing: list[str | None] = [None]

    def show(event: Event) -> None:
        data = event.data
        if event.kind == "token":
            if writing[0] != data["node"]:
                writing[0] = data["node"]
                print(f"\n--- {data['node']} ---", file=sys.stderr)
            print(data["text"], end="", file=sys.stderr, flush=True)
        elif event.kind == "node" and data["status"] == "end":
            if writing[0]:
                print(file=sys.stderr)
                writing[0] = None
            numbers = ", ".join(f"{k} {v}" for k, v in data["state"].items() if k != "iteration")
            print(f"  {data['node']:<15} {numbers}", file=sys.stderr, flush=True)
        elif event.kind == "tool" and data["status"] == "start" and not stream:
            return
        elif event.kind == "tool" and data["status"] == "start":
            print(f"  {'':<15} -> {data['tool']}({_args(data['args'])})", file=sys.stderr)

    return show


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())


async def _write(args: argparse.Namespace, settings: Settings) -> int:
    from agent import tracing
    from agent.failures import WriteFailed
    from agent.request import WriteRequest
    from agent.writer import ArticleWriter

    tracing.configure(settings)
    connection = tracing.TrackingConnection(settings)
    if settings.tracing_enabled and not await connection.check():
        print(f"warning: {connection.problem}; the trace will not be stored", file=sys.stderr)
    writer = ArticleWriter(settings)
    if settings.tracing_enabled and connection.experiment_id:
        await writer.version.check()  # the trace names the agent version that wrote it
    if not await writer.prompts.check():
        print(f"note: {writer.prompts.problem}", file=sys.stderr)
    request = WriteRequest(
        topic=args.topic, audience=args.audience, tone=args.tone, target_words=args.words
    )
    print(f"Writing about {args.topic!r} with {settings.model_name}...", file=sys.stderr)
    try:
        result = await writer.write(request, on_event=_progress(args.stream), tokens=args.stream)
    except WriteFailed as exc:
        print(f"error: {exc.code}: {exc} (trace {exc.trace_id})", file=sys.stderr)
        return 1
    finally:
        tracing.flush()
    if args.json:
        print(json.dumps({"article": result.article.model_dump(), "trace_id": result.trace_id}))
    else:
        print(result.article.markdown)
        print("\nReferences")
        for ref in result.article.references:
            print(f"  [{ref.n}] {ref.title} ({ref.source_id})")
        for note in result.article.notes:
            print(f"note: {note}", file=sys.stderr)
    usage = result.usage
    print(
        f"\n{result.article.word_count} words, {usage.total_tokens} tokens "
        f"({usage.input_tokens} in, {usage.output_tokens} out), {result.duration_ms} ms",
        file=sys.stderr,
    )
    link = connection.trace_url(result.trace_id) or f"trace id {result.trace_id}"
    print(f"Trace: {link}", file=sys.stderr)
    return 0


def _serve(settings: Settings) -> None:
    import uvicorn

    from api.main import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        # On SIGTERM, requests in flight get this long to finish before they are cancelled
        # (their traces then say so); queued traces are written after either way.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


def _up(settings: Settings) -> int:
    from agent import tracking_server
    from agent.prompts import PromptFileError

    host = "127.0.0.1"
    for name, port in (("MLFLOW_PORT", settings.mlflow_port), ("API_PORT", settings.api_port)):
        if not _port_free(host, port):
            print(f"error: port {port} is in use; set {name} to a free port", file=sys.stderr)
            return 2
    mlflow_url = f"http://{host}:{settings.mlflow_port}"
    # uvicorn re-raises the SIGTERM it shut down on; as an interrupt it lets `finally` below
    # stop the MLflow server too, instead of leaving it running.
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"Starting MLflow at {mlflow_url} (data in {settings.mlflow_data_dir}/)...", flush=True)
    server = tracking_server.start(
        settings.mlflow_port,
        settings.mlflow_data_dir,
        host,
        catalog_uri=settings.mlflow_model_catalog_uri,
    )
    try:
        tracking_server.wait_until_healthy(mlflow_url, server)
        api_settings = settings.model_copy(
            update={
                "mlflow_tracking_uri": mlflow_url,
                "mlflow_registry_uri": None,
                "api_host": host,
            }
        )
        print("Syncing prompts/ into the registry:")
        _use_mlflow(api_settings)
        try:
            _sync_prompts(api_settings, alias=None, dry_run=False)
        except PromptFileError as exc:  # the API still starts, and /ready says what is wrong
            print(f"error: {exc}; nothing was registered", file=sys.stderr)
        api_url = f"http://{host}:{settings.api_port}"
        print(f"\n  MLflow UI   {mlflow_url}\n  API         {api_url}   (docs: {api_url}/docs)\n")
        print(
            f"  Try:  curl -s -X POST {api_url}/write -H 'Content-Type: application/json' "
            '-d \'{"topic": "How honeybees pollinate crops"}\'\n',
            flush=True,
        )
        _serve(api_settings)
    except KeyboardInterrupt:
        pass
    finally:
        tracking_server.stop(server)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _use_mlflow(settings: Settings) -> None:
    import mlflow

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.registry_uri)


def _prompts(args: argparse.Namespace, settings: Settings) -> int:
    from agent import prompt_registry
    from agent.prompts import PromptBook, PromptFileError

    _use_mlflow(settings)
    try:
        if args.action == "sync":
            _sync_prompts(settings, args.alias, args.dry_run)
        elif args.action == "promote":
            names = sorted(PromptBook.from_folder(settings.prompts_dir).files)
            _print_rows(prompt_registry.promote(args.source, args.target, names), "moved")
        elif args.action == "set-alias":
            prompt_registry.set_alias(args.name, args.alias, args.version)
            print(f"{args.name}@{args.alias} -> version {args.version}")
        elif args.action == "list":
            print(f"{'name':<20} {'version':>7}  {'aliases':<24} description")
            for item in prompt_registry.listing():
                aliases = ",".join(item["aliases"]) or "-"
                print(
                    f"{item['name']:<20} {item['version']:>7}  {aliases:<24} {item['description']}"
                )
        else:
            print(prompt_registry.diff(args.name, args.old, args.new) or "(no difference)")
    except PromptFileError as exc:
        print(f"error: {exc}; nothing was registered", file=sys.stderr)
        return 1
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _sync_prompts(settings: Settings, alias: str | None, dry_run: bool) -> None:
    """Registers the prompt files that changed and points the alias at them; prints a table."""
    from agent import prompt_registry

    rows = prompt_registry.sync(settings.prompts_dir, alias or settings.prompt_alias, dry_run)
    _print_rows(rows, "changed")
    if dry_run:
        print("(dry run: the registry was not changed)")


def _print_rows(rows: list[Any], flag: str) -> None:
    print(f"{'name':<20} {'version':>7}  {'alias':<12} {flag}")
    for row in rows:
        print(f"{row.name:<20} {row.version:>7}  {row.alias:<12} {'yes' if row.changed else 'no'}")


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    import mlflow

    from agent import tracing
    from agent.writer import ArticleWriter
    from evals import compare, run

    tracing.configure(settings)
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
        print(f"\nDataset: {outcome.dataset_name} ({outcome.dataset_id}, {len(records)} cases)")
    else:
        print("\nDataset: not registered (this tracking store holds no datasets)")
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
    if outcome.passed:
        print("Evaluation gate: passed")
    else:
        print("Evaluation gate: FAILED", file=sys.stderr)
    if regressed:
        names = ", ".join(c.metric for c in regressed)
        print(f"Comparison with {args.compare}: REGRESSED ({names})", file=sys.stderr)
    elif earlier is not None:
        print(f"Comparison with {args.compare}: no regression")
    return 0 if outcome.passed and not regressed else 1


def _monitor(args: argparse.Namespace, settings: Settings) -> int:
    from evals import monitor

    _use_mlflow(settings)
    started, message = monitor.start(settings, args.endpoint, args.sample_rate)
    print(message, file=sys.stdout if started else sys.stderr)
    return 0 if started else 2


def _offline_model(port: int, host: str, delay_ms: float) -> None:
    import uvicorn

    from offline_model.server import create_app

    uvicorn.run(create_app(delay_ms), host=host, port=port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="writer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write", help="write one article and print it")
    write.add_argument("topic")
    write.add_argument("--audience", default=DEFAULTS.audience)
    write.add_argument("--tone", default=DEFAULTS.tone)
    low, high = TARGET_WORDS
    write.add_argument(
        "--words", type=int, default=DEFAULTS.target_words, help=f"target length ({low}-{high})"
    )
    write.add_argument("--json", action="store_true", help="print the article as JSON")
    write.add_argument(
        "--stream",
        action="store_true",
        help="show tool calls and the article's text as they happen",
    )
    commands.add_parser("serve", help="serve the API (API_HOST, API_PORT)")
    commands.add_parser("up", help="start an MLflow server and the API (MLFLOW_PORT, API_PORT)")
    offline = commands.add_parser("offline-model", help="serve the offline model over HTTP")
    offline.add_argument("--port", type=int, default=8100)
    offline.add_argument("--host", default="127.0.0.1")
    evaluate = commands.add_parser("eval", help="run the golden set, score it, gate on bars")
    evaluate.add_argument(
        "--dataset", type=Path, default=Path(__file__).parent.parent / "evals" / "golden.yaml"
    )
    evaluate.add_argument(
        "--thresholds",
        type=Path,
        default=Path(__file__).parent.parent / "evals" / "thresholds.yaml",
    )
    evaluate.add_argument("--limit", type=int, help="only the first N cases")
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
    prompts = commands.add_parser("prompts", help="the prompt files and the MLflow registry")
    actions = prompts.add_subparsers(dest="action", required=True)
    sync = actions.add_parser("sync", help="register changed files, point the alias at them")
    sync.add_argument("--alias", help="default: the PROMPT_ALIAS setting")
    sync.add_argument("--dry-run", action="store_true", help="show what would change")
    promote = actions.add_parser("promote", help="point one alias where another points")
    promote.add_argument("source", help="e.g. staging")
    promote.add_argument("target", help="e.g. production")
    set_alias = actions.add_parser("set-alias", help="point an alias at a version")
    set_alias.add_argument("name")
    set_alias.add_argument("alias")
    set_alias.add_argument("version", type=int)
    actions.add_parser("list", help="registered prompts, versions and aliases")
    diff = actions.add_parser("diff", help="the difference between two versions")
    diff.add_argument("name")
    diff.add_argument("old", type=int)
    diff.add_argument("new", type=int)
    args = parser.parse_args(argv)

    settings = Settings()
    if args.command == "write":
        if problem := topic_problem(args.topic):
            parser.error(problem)
        return asyncio.run(_write(args, settings))
    if args.command == "serve":
        _serve(settings)
    elif args.command == "up":
        return _up(settings)
    elif args.command == "prompts":
        return _prompts(args, settings)
    elif args.command == "eval":
        return _eval(args, settings)
    elif args.command == "monitor":
        return _monitor(args, settings)
    elif args.command == "offline-model":
        _offline_model(args.port, args.host, settings.offline_token_delay_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
