"""Background runs and their events, kept beside the sessions so that any process on the same
database can report a run, replay its events to a client that reconnects, or cancel it.

Bounded: runs older than the retention are deleted when a new one starts, and a run stores at
most `max_events` events (then only those that are not `token`: the `done` event still holds
the whole article).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from service.sessions import sql

# A stored event of a run: its number (the SSE `id`), kind and data.
RunEvent = tuple[int, str, dict[str, Any]]

TERMINAL = frozenset({"done", "failed", "cancelled", "awaiting_outline"})
CREATE = (
    "CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, user_id TEXT, status TEXT NOT "
    "NULL, created DOUBLE PRECISION NOT NULL, outcome TEXT, cancel INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS run_events (run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind "
    "TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, seq))",
)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    user_id: str | None
    status: str  # running, then one of TERMINAL
    created: float
    outcome: dict[str, Any] | None  # the `done` body, the 202 body, or the error
    cancel_requested: bool

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


class RunLog(Protocol):
    async def setup(self) -> None: ...
    async def create(self, run_id: str, user_id: str | None) -> None: ...
    async def append(self, run_id: str, events: Sequence[RunEvent]) -> None: ...
    async def finish(self, run_id: str, status: str, outcome: dict[str, Any]) -> None: ...
    async def get(self, run_id: str) -> RunRecord | None: ...
    async def events_after(
        self, run_id: str, after: int, limit: int
    ) -> list[tuple[int, str, dict[str, Any]]]: ...
    async def request_cancel(self, run_id: str) -> None: ...
    async def purge(self, created_before: float) -> None: ...


class MemoryRunLog:
    """Runs of this process only (CHECKPOINT_URL=memory)."""

    def __init__(self) -> None:
        self._runs: dict[str, RunRecord] = {}
        self._events: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}

    async def setup(self) -> None:
        pass

    async def create(self, run_id: str, user_id: str | None) -> None:
        self._runs[run_id] = RunRecord(run_id, user_id, "running", time.time(), None, False)
        self._events[run_id] = []

    async def append(self, run_id: str, events: Sequence[RunEvent]) -> None:
        self._events[run_id].extend(events)

    async def finish(self, run_id: str, status: str, outcome: dict[str, Any]) -> None:
        run = self._runs[run_id]
        self._runs[run_id] = RunRecord(
            run_id, run.user_id, status, run.created, outcome, run.cancel_requested
        )

    async def get(self, run_id: str) -> RunRecord | None:
        return self._runs.get(run_id)

    async def events_after(
        self, run_id: str, after: int, limit: int
    ) -> list[tuple[int, str, dict[str, Any]]]:
        return [e for e in self._events.get(run_id, []) if e[0] > after][:limit]

    async def request_cancel(self, run_id: str) -> None:
        run = self._runs[run_id]
        self._runs[run_id] = RunRecord(
            run_id, run.user_id, run.status, run.created, run.outcome, True
        )

    async def purge(self, created_before: float) -> None:
        for run_id in [r for r, run in self._runs.items() if run.created < created_before]:
            del self._runs[run_id]
            self._events.pop(run_id, None)


class SqlRunLog:
    """Runs in the sessions' database (`service.sessions.sql`)."""

    def __init__(self, run: sql.Run, marker: str) -> None:
        self._run, self._p = run, marker

    async def _do(self, statement: str, *params: Any) -> list[Any]:
        return await self._run(statement.replace("?", self._p), params)

    async def setup(self) -> None:
        for statement in CREATE:
            await self._run(statement, ())

    async def create(self, run_id: str, user_id: str | None) -> None:
        await self._do(
            "INSERT INTO runs (run_id, user_id, status, created) VALUES (?, ?, 'running', ?)",
            run_id,
            user_id,
            time.time(),
        )

    async def append(self, run_id: str, events: Sequence[RunEvent]) -> None:
        # One statement for every event waiting: a stream of tokens costs one write per batch,
        # not one per token, so the log keeps up with the run however busy the database is.
        if not events:
            return
        rows = ", ".join(["(?, ?, ?, ?)"] * len(events))
        params = [
            value
            for seq, kind, data in events
            for value in (run_id, seq, kind, json.dumps(data, default=str))
        ]
        await self._do(f"INSERT INTO run_events (run_id, seq, kind, data) VALUES {rows}", *params)

    async def finish(self, run_id: str, status: str, outcome: dict[str, Any]) -> None:
        await self._do(
            "UPDATE runs SET status = ?, outcome = ? WHERE run_id = ?",
            status,
            json.dumps(outcome, default=str),
            run_id,
        )

    async def get(self, run_id: str) -> RunRecord | None:
        rows = await self._do(
            "SELECT run_id, user_id, status, created, outcome, cancel FROM runs WHERE run_id = ?",
            run_id,
        )
        if not rows:
            return None
        run_id, user_id, status, created, outcome, cancel = rows[0]
        return RunRecord(
            run_id, user_id, status, created, json.loads(outcome) if outcome else None, bool(cancel)
        )

    async def events_after(
        self, run_id: str, after: int, limit: int
    ) -> list[tuple[int, str, dict[str, Any]]]:
        rows = await self._do(
            "SELECT seq, kind, data FROM run_events WHERE run_id = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            run_id,
            after,
            limit,
        )
        return [(int(seq), kind, json.loads(data)) for seq, kind, data in rows]

    async def request_cancel(self, run_id: str) -> None:
        await self._do("UPDATE runs SET cancel = 1 WHERE run_id = ?", run_id)

    async def purge(self, created_before: float) -> None:
        old = "SELECT run_id FROM runs WHERE created < ?"
        await self._do(f"DELETE FROM run_events WHERE run_id IN ({old})", created_before)
        await self._do("DELETE FROM runs WHERE created < ?", created_before)
