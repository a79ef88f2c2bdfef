"""`writer prompts`: the prompt files and the MLflow Prompt Registry (sync, promote, roll back)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from cli.settings import Settings


def add(commands: Any) -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
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
    return {"prompts": run}


def use_mlflow(settings: Settings) -> None:
    import mlflow

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.registry_uri)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.prompts import PromptBook, PromptFileError, registry

    use_mlflow(settings)
    try:
        if args.action == "sync":
            sync_prompts(settings, args.alias, args.dry_run)
        elif args.action == "promote":
            names = sorted(PromptBook.from_folder(settings.prompts_dir).files)
            _print_rows(registry.promote(args.source, args.target, names), "moved")
        elif args.action == "set-alias":
            registry.set_alias(args.name, args.alias, args.version)
            print(f"{args.name}@{args.alias} -> version {args.version}")
        elif args.action == "list":
            print(f"{'name':<20} {'version':>7}  {'aliases':<24} description")
            for item in registry.listing():
                aliases = ",".join(item["aliases"]) or "-"
                print(
                    f"{item['name']:<20} {item['version']:>7}  {aliases:<24} {item['description']}"
                )
        else:
            print(registry.diff(args.name, args.old, args.new) or "(no difference)")
    except PromptFileError as exc:
        print(f"error: {exc}; nothing was registered", file=sys.stderr)
        return 1
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def sync_prompts(settings: Settings, alias: str | None, dry_run: bool) -> None:
    """Registers the prompt files that changed and points the alias at them; prints a table."""
    from agent.prompts import registry

    rows = registry.sync(settings.prompts_dir, alias or settings.prompt_alias, dry_run)
    _print_rows(rows, "changed")
    if dry_run:
        print("(dry run: the registry was not changed)")


def _print_rows(rows: list[Any], flag: str) -> None:
    print(f"{'name':<20} {'version':>7}  {'alias':<12} {flag}")
    for row in rows:
        print(f"{row.name:<20} {row.version:>7}  {row.alias:<12} {'yes' if row.changed else 'no'}")
