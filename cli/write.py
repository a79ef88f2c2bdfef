"""`writer write`: one article in this process, traced, with its progress on stderr; and
`writer revise S "make it shorter"`: a later turn of session S, the same way."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.brief import INSTRUCTION_CHARS, TARGET_WORDS, topic_problem
from agent.research.sources import ORIGINS
from cli.settings import Settings
from service.events import Event
from service.request import DEFAULTS, ID_PATTERN, PATTERN_RULES, ReviseRequest, WriteRequest

if TYPE_CHECKING:
    from service.turn import ArticleWriter, WriteResult
    from tracing import TrackingConnection


def add(commands: Any) -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    write = commands.add_parser("write", help="write one article and print it")
    write.add_argument("topic")
    write.add_argument("--audience", default=DEFAULTS.audience)
    write.add_argument("--tone", default=DEFAULTS.tone)
    low, high = TARGET_WORDS
    write.add_argument(
        "--words", type=int, default=DEFAULTS.target_words, help=f"target length ({low}-{high})"
    )
    write.add_argument(
        "--session",
        help="write into this session (kept at CHECKPOINT_URL; new if it does not exist)",
    )
    write.add_argument("--user", help="the user id (a session belongs to its first turn's user)")
    revise = commands.add_parser("revise", help="change a session's article, as a new turn")
    revise.add_argument("session", help="the session (as `writer write --session` named it)")
    revise.add_argument(
        "instruction",
        help="shorter or longer, add or drop a section, a new tone or audience",
    )
    revise.add_argument("--words", type=int, help=f"a length to aim at ({low}-{high})")
    revise.add_argument("--user", help="the session's owner (the user id of its first turn)")
    for parser in (write, revise):
        parser.add_argument(
            "--traceparent",
            default=os.environ.get("TRACEPARENT"),
            help="go on with this W3C trace context (default: $TRACEPARENT, and $TRACESTATE)",
        )
        parser.add_argument("--json", action="store_true", help="print the article as JSON")
        parser.add_argument(
            "--stream",
            action="store_true",
            help="show tool calls and the article's text as they happen",
        )

    def checked_ids(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
        for name in ("session", "user"):
            value = getattr(args, name)
            if value is not None and not re.fullmatch(ID_PATTERN, value):
                parser.error(f"--{name}: {PATTERN_RULES[ID_PATTERN]}")

    def run(args: argparse.Namespace, settings: Settings) -> int:
        if problem := topic_problem(args.topic):
            write.error(problem)
        checked_ids(write, args)
        request = WriteRequest(
            topic=args.topic,
            audience=args.audience,
            tone=args.tone,
            target_words=args.words,
            user_id=args.user,
            session_id=args.session,
            trace_context=_trace_context(args.traceparent),
        )
        return asyncio.run(_write(args, settings, request))

    def run_revise(args: argparse.Namespace, settings: Settings) -> int:
        fewest, most = INSTRUCTION_CHARS
        if not fewest <= len(args.instruction.strip()) <= most:
            revise.error(f"the instruction must be {fewest} to {most} characters")
        if args.words is not None and not low <= args.words <= high:
            revise.error(f"--words: {low} to {high}")
        checked_ids(revise, args)
        request = ReviseRequest(
            session_id=args.session,
            instruction=args.instruction.strip(),
            user_id=args.user,
            target_words=args.words,
            trace_context=_trace_context(args.traceparent),
        )
        return asyncio.run(_write(args, settings, request))

    return {"write": run, "revise": run_revise}


def _trace_context(traceparent: str | None) -> dict[str, str]:
    """The trace the run goes on, as the API takes it from a request's headers."""
    from tracing import distributed

    sent = {"traceparent": traceparent or "", "tracestate": os.environ.get("TRACESTATE", "")}
    found = distributed.caller_context(sent)
    if traceparent and not found:
        print("note: not a W3C traceparent, so the article has a trace of its own", file=sys.stderr)
    return found


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


async def _write(
    args: argparse.Namespace, settings: Settings, request: WriteRequest | ReviseRequest
) -> int:
    import tracing
    from agent import spans
    from service.sessions import open_persistence
    from service.turn import ArticleWriter

    tracing.configure(settings, spans.PROCESSORS)
    connection = tracing.TrackingConnection(settings)
    if settings.tracing_enabled and not await connection.check():
        print(f"warning: {connection.problem}; the trace will not be stored", file=sys.stderr)
    # A one-off article needs no session that outlives the process; a named one is kept where
    # the API keeps them, so `writer session` and GET /sessions can read it.
    url = settings.checkpoint_url if args.session else "memory"
    async with open_persistence(url, settings.checkpoint_pool_size) as persistence:
        writer = ArticleWriter(settings, persistence)
        return await _write_with(args, settings, connection, writer, request)


async def _write_with(
    args: argparse.Namespace,
    settings: Settings,
    connection: TrackingConnection,
    writer: ArticleWriter,
    request: WriteRequest | ReviseRequest,
) -> int:
    import tracing
    from service.failures import WriteFailed

    if settings.tracing_enabled and connection.experiment_id:
        await writer.version.check()  # the trace names the agent version that wrote it
    if not await writer.prompts.check():
        print(f"note: {writer.prompts.problem}", file=sys.stderr)
    show = _progress(args.stream)
    try:
        result: WriteResult
        if isinstance(request, WriteRequest):
            print(f"Writing about {request.topic!r} with {settings.model_name}...", file=sys.stderr)
            result = await writer.write_article(request, on_event=show, tokens=args.stream)
        else:
            print(
                f"Revising: {request.instruction!r} with {settings.model_name}...", file=sys.stderr
            )
            result = await writer.revise(request, on_event=show, tokens=args.stream)
    except WriteFailed as exc:
        print(f"error: {exc.code}: {exc} (trace {exc.trace_id})", file=sys.stderr)
        return 1
    finally:
        tracing.flush()
    if args.json:
        print(
            json.dumps(
                {
                    "article": result.article.model_dump(),
                    "trace_id": result.trace_id,
                    "session_id": result.session_id,
                    "turn": result.turn,
                }
            )
        )
    else:
        print(result.article.markdown)
        print("\nReferences")
        for ref in result.article.references:
            where = f": {ref.location}" if ref.location else ""
            print(f"  [{ref.n}] {ref.title} ({ref.source_id}), {ORIGINS[ref.origin]}{where}")
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
    if args.session:
        print(f"Session: {result.session_id}, turn {result.turn}", file=sys.stderr)
    return 0
