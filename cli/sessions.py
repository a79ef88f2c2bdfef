"""`writer session S`: a session's turns and its current article, read where the API keeps them."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from cli.settings import Settings


def add(commands: Any) -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    show = commands.add_parser("session", help="a session's turns and current article")
    show.add_argument("session_id")
    show.add_argument("--user", help="the session's owner (the user id of its first turn)")
    show.add_argument("--json", action="store_true", help="print it as GET /sessions/{id} does")

    def run(args: argparse.Namespace, settings: Settings) -> int:
        return asyncio.run(_show(args, settings))

    return {"session": run}


async def _show(args: argparse.Namespace, settings: Settings) -> int:
    from service.sessions import UnknownSession, open_persistence
    from service.turn import ArticleWriter

    async with open_persistence(
        settings.checkpoint_url, settings.checkpoint_pool_size
    ) as persistence:
        writer = ArticleWriter(settings, persistence)
        try:
            view = await writer.session(args.session_id, args.user)
        except UnknownSession:
            owner = f"user {args.user!r}" if args.user else "no user (pass --user)"
            print(f"error: no session {args.session_id!r} for {owner}", file=sys.stderr)
            return 1
    if args.json:
        article = view.article.model_dump() if view.article else None
        print(json.dumps({**view.record.model_dump(), "article": article}))
        return 0
    print(f"Session {view.record.session_id} (user {view.record.user_id or '-'})")
    for turn in view.record.turns:
        outcome = f"{turn.title} ({turn.words} words)" if turn.title else f"error: {turn.error}"
        print(f"  {turn.n}. {turn.at}  {turn.kind:<6} {turn.instruction!r} -> {outcome}")
        print(f"     trace {turn.trace_id or '-'}")
    if view.article:
        print(f"\nCurrent article: {view.article.title} ({view.article.word_count} words)")
    return 0
