"""Where sessions last: LangGraph's checkpointer (each session's graph state, by thread) and
its store (who owns each session and its turns), both at CHECKPOINT_URL.

`memory` keeps them in the process (the command line's one-off runs, evaluation); a
`sqlite:///path` file lasts across restarts, for the processes of one machine; a
`postgresql://` database, for every replica that reaches it. Each also holds the claims that
let one turn of a session run at a time (`service.sessions.claims`), and the background runs with
their events (`service.sessions.runlog`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.store.postgres.aio import AsyncPostgresStore
from langgraph.store.sqlite.aio import AsyncSqliteStore
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from service.sessions import sql
from service.sessions.claims import Claims, MemoryClaims, postgres_claims, sqlite_claims
from service.sessions.runlog import MemoryRunLog, RunLog, SqlRunLog
from tracing.internals import ImmediateTransactions

# The classes a checkpoint may rebuild when it is read back. LangGraph otherwise imports
# whatever class a stored checkpoint names, so a database someone could write to would be
# code they could run; this list is the state's own types (`agent.state`,
# `agent.research.sources`) and the LangChain messages the research and review conversations hold.
STATE_TYPES = [
    ("agent.state", name)
    for name in (
        "Section",
        "Outline",
        "ReviewVerdict",
        "Source",
        "Scored",
        "Coverage",
        "Reference",
        "ArticleSection",
        "Article",
        "FollowUp",
        "Amendment",
    )
] + [
    ("agent.research.sources", "Passage"),
    *(
        ("langchain_core.messages." + module, name)
        for module, name in (
            ("ai", "AIMessage"),
            ("human", "HumanMessage"),
            ("system", "SystemMessage"),
            ("tool", "ToolMessage"),
            ("ai", "AIMessageChunk"),
        )
    ),
]
MEMORY = "memory"
SQLITE = "sqlite:///"
POSTGRES = ("postgresql://", "postgres://")
SETUP_LOCK = 7_232_001  # the advisory lock replicas take in turn to create or migrate tables
SETUP_POLL_SECONDS = 0.2


async def _take(connection: Any, lock: int) -> None:
    """Takes a session-level advisory lock by trying it until it is free: between tries this
    connection runs no statement, so holds no snapshot another replica's migration waits on."""
    while True:
        cursor = await connection.execute("SELECT pg_try_advisory_lock(%s) AS taken", (lock,))
        row = await cursor.fetchone()
        if row and row["taken"]:
            return
        await asyncio.sleep(SETUP_POLL_SECONDS)


@dataclass(frozen=True)
class Persistence:
    checkpointer: BaseCheckpointSaver[str]
    store: BaseStore
    claims: Claims
    runs: RunLog
    url: str


def serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)


def memory() -> Persistence:
    return Persistence(
        InMemorySaver(serde=serializer()), InMemoryStore(), MemoryClaims(), MemoryRunLog(), MEMORY
    )


@contextlib.asynccontextmanager
async def open_persistence(url: str, pool_size: int = 10) -> AsyncIterator[Persistence]:
    """The checkpointer and store at `url`, created if new, closed when the block ends."""
    if url == MEMORY:
        yield memory()
        return
    if url.startswith(POSTGRES):
        async with _postgres(url, pool_size) as persistence:
            yield persistence
        return
    if not url.startswith(SQLITE):
        raise ValueError(
            f"CHECKPOINT_URL={url!r}: use {MEMORY!r}, {SQLITE}<path> or postgresql://..."
        )
    path = Path(url.removeprefix(SQLITE))
    path.parent.mkdir(parents=True, exist_ok=True)
    # One connection each: the saver commits per write, the store runs in autocommit mode.
    async with (
        aiosqlite.connect(path) as saver_db,
        aiosqlite.connect(path, isolation_level=None) as store_db,
    ):
        checkpointer = AsyncSqliteSaver(saver_db, serde=serializer())
        # Two writers on one file: the store's transactions must wait for the saver's.
        store = AsyncSqliteStore(cast(aiosqlite.Connection, ImmediateTransactions(store_db)))
        claims = sqlite_claims(store_db)
        runs = SqlRunLog(*sql.sqlite(store_db))
        async with _only_one_process(path):
            await checkpointer.setup()
            await store.setup()
            await claims.setup()
            await runs.setup()
        yield Persistence(checkpointer, store, claims, runs, url)


@contextlib.asynccontextmanager
async def _postgres(url: str, pool_size: int) -> AsyncIterator[Persistence]:
    """LangGraph's PostgreSQL saver and store on one connection pool.

    The pool checks a connection before lending it and replaces one the server dropped (a
    restart, a failover, an idle timeout), so a dropped connection costs a reconnect, not a
    failed turn; TCP keepalives find a dead peer in about a minute.
    """
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=pool_size,
        open=False,
        check=AsyncConnectionPool.check_connection,
        max_idle=300,
        reconnect_timeout=60,
        kwargs={
            # What LangGraph's saver and store need of every connection.
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": dict_row,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )
    async with pool:
        await pool.wait(timeout=30)
        checkpointer = AsyncPostgresSaver(pool, serde=serializer())
        store = AsyncPostgresStore(pool)
        claims = postgres_claims(pool)
        runs = SqlRunLog(*sql.postgres(pool))
        # Replicas starting together would race through the same migrations, as on sqlite.
        # The lock is tried, not waited for: a replica blocked in `pg_advisory_lock` holds a
        # snapshot, which the other's CREATE INDEX CONCURRENTLY waits out while it holds the
        # lock, a deadlock PostgreSQL cannot see (both replicas hung at start on a new database).
        async with pool.connection() as lock:
            await _take(lock, SETUP_LOCK)
            try:
                await checkpointer.setup()
                await store.setup()
                await claims.setup()
                await runs.setup()
            finally:
                await lock.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))
        yield Persistence(checkpointer, store, claims, runs, url)


@contextlib.asynccontextmanager
async def _only_one_process(database: Path) -> AsyncIterator[None]:
    """Hold an exclusive lock beside `database` while its tables are created or migrated.

    LangGraph's setup reads the schema version, then applies what is missing, in separate
    statements: processes starting together on one new file (workers, replicas, a restart
    overlapping the old process) would otherwise both add the same column, and one dies.
    """
    lock_file = database.with_name(database.name + ".setup-lock")
    with await asyncio.to_thread(lock_file.open, "w") as lock:
        await asyncio.to_thread(fcntl.flock, lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
