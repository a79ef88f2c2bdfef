"""`writer sources`: what SOURCES_DIR holds as research sees it, and what it could not read."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from cli.settings import Settings


def add(commands: Any) -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    listing = commands.add_parser(
        "sources", help="the documents research reads, and the files it could not read, and why"
    )
    listing.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    return {"sources": _sources}


def _sources(args: argparse.Namespace, settings: Settings) -> int:
    from agent.research.sources import ORIGINS, SourceLibrary

    try:
        library = SourceLibrary.from_settings(settings)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: SOURCES_DIR: {exc}")
        return 2
    indexed: list[dict[str, Any]] = [
        {
            "id": doc.id,
            "title": doc.title,
            "passages": len(doc.passages),
            "location": doc.passages[0].location,
        }
        for doc in library.documents.values()
    ]
    skipped = [{"file": s.path.as_posix(), "reason": s.reason} for s in library.skipped]
    if args.json:
        print(
            json.dumps(
                {
                    "folder": str(library.folder),
                    "origin": library.origin,
                    "indexed": indexed,
                    "skipped": skipped,
                },
                indent=2,
            )
        )
        return 0
    print(
        f"{library.folder} ({ORIGINS[library.origin]}): {len(indexed)} documents indexed, "
        f"{sum(d['passages'] for d in indexed)} passages"
    )
    for doc in indexed:
        where = f"  {doc['location']}" if doc["location"] else ""
        print(f"  {doc['id']:<40} {doc['passages']:>3} passages  {doc['title']}{where}")
    for path, count in library.addressed:
        print(f"  {path}: {count} sentence(s) addressed to the model dropped (data, not orders)")
    if skipped:
        print(f"\nNot read ({len(skipped)}):")
        for s in skipped:
            print(f"  {s['file']}: {s['reason']}")
    return 0
