"""`writer keys new NAME`: an API key, and the entry that lets it in (API_KEYS, API_KEYS_FILE)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from api.security import keys
from cli.settings import Settings


def add(commands: Any) -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    parser = commands.add_parser("keys", help="make API keys for API_KEYS or API_KEYS_FILE")
    actions = parser.add_subparsers(dest="action", required=True)
    made = actions.add_parser("new", help="a new key: give it to NAME, keep its entry")
    made.add_argument("name", help="whose key: the trace's user when a call names none")

    def new(args: argparse.Namespace, settings: Settings) -> int:
        if not keys.NAME_PATTERN.match(args.name):
            print("error: a key's name is 1-64 letters, digits or . _ @ -", file=sys.stderr)
            return 2
        key = keys.new_key()
        # The key on stdout alone, so that `writer keys new ci > ci.key` keeps just the key.
        print(key)
        print(
            f"\nGive the key above to {args.name}; the server keeps only its digest. Add this "
            f"entry to API_KEYS (comma-separated) or as a line of API_KEYS_FILE:\n\n"
            f"  {keys.entry(args.name, key)}\n",
            file=sys.stderr,
        )
        return 0

    return {"keys": new}
