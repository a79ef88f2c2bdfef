"""What sessions cost: POST /write with the sessions kept in sqlite against kept in memory, and
the size a session takes in the database.

    uv run python -m bench.sessions [--requests 40] [--turns 5]

Starts an MLflow server and two untraced APIs on loopback (offline model, no token delay, so
the checkpointer's share is as large as it can be): `memory` (CHECKPOINT_URL=memory, nothing
written) and `sqlite` (the default, a file beside the API's log). Requests go round the two,
one at a time, so both see the same machine noise; prints each median, p95 and the ratio.
Then a conversation of `--turns` turns in one session on the sqlite API (an article, then
follow-ups: shorter, a new section, a new tone, longer), with the session's size after each:
each follow-up starts from the article's checkpoint and adds its own.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
from pathlib import Path

import httpx

from bench.harness import apis
from bench.write_latency import WARM_UP, report_medians, round_robin

FOLLOW_UPS = [
    "make it shorter",
    "add a section on grid storage",
    "more formal, for students",
    "make it longer",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40, help="per configuration")
    parser.add_argument("--turns", type=int, default=5, help="turns in the measured session")
    args = parser.parse_args()
    untraced = {"TRACING_ENABLED": "false"}
    configs = {"memory": {**untraced, "CHECKPOINT_URL": "memory"}, "sqlite": untraced}
    with apis(configs) as (_, servers), httpx.Client(timeout=120) as client:
        timings, _ = round_robin(client, servers, args.requests)
        report_medians(timings, "memory")
        api = servers["sqlite"]
        database = api.log.parent / ".data" / "sessions.db"  # the default, under the API's cwd
        answer = client.post(f"{api.url}/write", json={"topic": "Solar power", "user_id": "bench"})
        answer.raise_for_status()
        session = answer.json()["session_id"]
        for turn in range(1, args.turns + 1):
            if turn > 1:
                instruction = FOLLOW_UPS[(turn - 2) % len(FOLLOW_UPS)]
                body = {"instruction": instruction, "user_id": "bench"}
                client.post(f"{api.url}/sessions/{session}/revise", json=body).raise_for_status()
            print(
                f"turn {turn}: the session holds {session_bytes(database, session) / 1024:.0f} "
                "KiB (its checkpoints, pending writes and record)"
            )
        # Freed pages are reused, not returned; the write-ahead log is folded in from time to time.
        articles = args.requests + WARM_UP + args.turns
        on_disk = sum(
            p.stat().st_size for p in (database, database.with_suffix(".db-wal")) if p.exists()
        )
        print(
            f"on disk (the file and its write-ahead log): {on_disk / 1024:.0f} KiB after "
            f"{articles} articles, {on_disk / 1024 / articles:.0f} KiB an article"
        )


def session_bytes(database: Path, session: str) -> int:
    """What one session's rows hold, read from the tables of LangGraph's sqlite checkpointer
    and store (a test of this bench would be the only reader of their layout)."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        queries = [
            (
                "SELECT total(length(checkpoint) + length(metadata)) FROM checkpoints "
                "WHERE thread_id = ?"
            ),
            "SELECT total(length(value)) FROM writes WHERE thread_id = ?",
            "SELECT total(length(value)) FROM store WHERE key = ?",
        ]
        return int(sum(db.execute(query, (session,)).fetchone()[0] for query in queries))


if __name__ == "__main__":
    main()
