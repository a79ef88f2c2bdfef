"""What sessions cost: POST /write with the sessions kept in sqlite against kept in memory, and
the size a session takes in the database.

    uv run python -m bench.sessions [--requests 40] [--turns 5]

Starts an MLflow server and two untraced APIs on loopback (offline model, no token delay, so
the checkpointer's share is as large as it can be): `memory` (CHECKPOINT_URL=memory, nothing
written) and `sqlite` (the default, a file beside the API's log). Requests go round the two,
one at a time, so both see the same machine noise; prints each median, p95 and the ratio.
Then `--turns` articles in one session on the sqlite API, with the file's size after each.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import statistics
import time
from pathlib import Path

import httpx

from bench.harness import apis
from bench.write_latency import TOPICS, p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40, help="per configuration")
    parser.add_argument("--turns", type=int, default=5, help="articles in the measured session")
    args = parser.parse_args()
    untraced = {"TRACING_ENABLED": "false"}
    configs = {"memory": {**untraced, "CHECKPOINT_URL": "memory"}, "sqlite": untraced}
    with apis(configs) as (_, servers), httpx.Client(timeout=120) as client:
        timings: dict[str, list[float]] = {name: [] for name in servers}
        for i in range(args.requests + 3):  # the first 3 rounds warm up
            for name, api in servers.items():
                started = time.perf_counter()
                answer = client.post(f"{api.url}/write", json={"topic": TOPICS[i % len(TOPICS)]})
                elapsed = (time.perf_counter() - started) * 1000
                answer.raise_for_status()
                if i >= 3:
                    timings[name].append(elapsed)
        baseline = statistics.median(timings["memory"])
        for name, values in timings.items():
            median = statistics.median(values)
            print(
                f"{name:>7}: median {median:6.1f} ms   p95 {p95(values):6.1f} ms   "
                f"x{median / baseline:.3f} of memory   (n={len(values)})"
            )
        api = servers["sqlite"]
        database = api.log.parent / ".data" / "sessions.db"  # the default, under the API's cwd
        session = ""
        for turn in range(1, args.turns + 1):
            body = {"topic": TOPICS[turn % len(TOPICS)], "user_id": "bench"}
            if session:
                body["session_id"] = session
            answer = client.post(f"{api.url}/write", json=body)
            answer.raise_for_status()
            session = answer.json()["session_id"]
            print(
                f"turn {turn}: the session holds {session_bytes(database, session) / 1024:.0f} "
                "KiB (its checkpoints, pending writes and record)"
            )
        # Freed pages are reused, not returned; the write-ahead log comes and goes.
        articles = args.requests + 3 + args.turns
        print(
            f"the file: {database.stat().st_size / 1024:.0f} KiB after {articles} articles, "
            f"{database.stat().st_size / 1024 / articles:.0f} KiB an article"
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
