"""One turn at a time per session, across every process that shares the sessions' database.

LangGraph's store has no compare-and-set, so the claim is one row in a table of its own beside
the checkpoints: an upsert that takes the row only if nobody holds it or the holder's lease ran
out (a process that died mid-turn frees its sessions when the lease ends). sqlite and
PostgreSQL both answer it atomically.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

import aiosqlite

from service.sessions import sql

CREATE = (
    "CREATE TABLE IF NOT EXISTS session_claims "
    "(session_id TEXT PRIMARY KEY, holder TEXT NOT NULL, claimed_until DOUBLE PRECISION NOT NULL)"
)
CLAIM = (
    "INSERT INTO session_claims (session_id, holder, claimed_until) VALUES ({p}, {p}, {p}) "
    "ON CONFLICT (session_id) DO UPDATE SET holder = excluded.holder, "
    "claimed_until = excluded.claimed_until WHERE session_claims.claimed_until < {p} "
    "RETURNING session_id"
)
RELEASE = "DELETE FROM session_claims WHERE session_id = {p} AND holder = {p}"


class Claims(Protocol):
    async def setup(self) -> None: ...

    async def claim(self, session_id: str, lease_seconds: float) -> bool:
        """True if this process now holds the session; False if another turn holds it."""
        ...

    async def release(self, session_id: str) -> None: ...


class MemoryClaims:
    """Claims for one process (CHECKPOINT_URL=memory)."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    async def setup(self) -> None:
        pass

    async def claim(self, session_id: str, lease_seconds: float) -> bool:
        if session_id in self._held:
            return False
        self._held.add(session_id)
        return True

    async def release(self, session_id: str) -> None:
        self._held.discard(session_id)


class SqlClaims:
    """Claims in the sessions' own database (`service.sessions.sql`)."""

    def __init__(self, run: sql.Run, marker: str) -> None:
        self._run, self._marker = run, marker
        self._holder = uuid.uuid4().hex  # this process: a release never frees another's claim

    def _sql(self, statement: str) -> str:
        return statement.format(p=self._marker)

    async def setup(self) -> None:
        await self._run(CREATE, ())

    async def claim(self, session_id: str, lease_seconds: float) -> bool:
        now = time.time()
        rows = await self._run(
            self._sql(CLAIM), (session_id, self._holder, now + lease_seconds, now)
        )
        return bool(rows)

    async def release(self, session_id: str) -> None:
        await self._run(self._sql(RELEASE), (session_id, self._holder))


def sqlite_claims(db: aiosqlite.Connection) -> SqlClaims:
    return SqlClaims(*sql.sqlite(db))


def postgres_claims(pool: Any) -> SqlClaims:
    return SqlClaims(*sql.postgres(pool))
