"""`writer`: write an article, serve the API, or start MLflow and the API together.

writer write "How honeybees pollinate crops"   one article in this process, traced
writer write "Coral reefs" --session S --user U  the same, kept as a turn of session S
writer revise S "make it shorter" [--user U]   a later turn: the session's article changed
writer session S [--user U]                    a session's turns and current article
writer traces [--user U] [--status ERROR] [--since 1h] [--text T]   this app's traces
writer tools [--since 1d]                      per tool, node and article: calls, errors, times
writer serve                                   the API (uvicorn)
writer keys new NAME                           an API key for NAME, and its API_KEYS entry
writer up                                      MLflow server + prompts sync + API: `make run`
writer offline-model --port 8100               the offline model on its own port
writer prompts sync [--alias A] [--dry-run]    register changed prompt files, move the alias
writer prompts promote staging production      move one alias to where another points
writer prompts set-alias NAME ALIAS VERSION    point an alias at a version (roll back)
writer prompts list | diff NAME V1 V2          what the registry holds
writer eval [--limit N] [--compare RUN_ID]     the golden set and the coverage bar; exit 1 below
writer sources [--json]                        SOURCES_DIR as research reads it, and what it could
                                               not read, and why
writer monitor --endpoint NAME                 scheduled LLM judges on new traces
"""

from __future__ import annotations

import argparse

from cli import evaluation, keys, prompts, serving, sessions, sources, traces, write
from cli.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="writer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    runners = {}  # each command's module adds its parser and says what runs it
    for module in (write, sessions, traces, serving, keys, evaluation, prompts, sources):
        runners.update(module.add(commands))
    args = parser.parse_args(argv)
    return runners[args.command](args, Settings())
