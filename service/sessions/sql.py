"""One statement at a time on the sessions' database, whichever it is: what the tables the app
keeps beside LangGraph's (claims, runs) need of sqlite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite

# Executes one statement with its parameters and returns its rows (none for a write).
Run = Callable[[str, tuple[Any, ...]], Awaitable[list[Any]]]


def sqlite(db: aiosqlite.Connection) -> tuple[Run, str]:
    """Statements on an autocommit sqlite connection, and its parameter placeholder."""

    async def run(statement: str, params: tuple[Any, ...]) -> list[Any]:
        async with db.execute(statement, params) as cursor:
            return [tuple(row) for row in await cursor.fetchall()]

    return run, "?"


def postgres(pool: Any) -> tuple[Run, str]:
    """Statements through a psycopg pool in autocommit mode, and its parameter placeholder."""

    async def run(statement: str, params: tuple[Any, ...]) -> list[Any]:
        async with pool.connection() as conn, conn.cursor() as cursor:
            await cursor.execute(statement, params)
            rows = await cursor.fetchall() if cursor.description else []
            return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]

    return run, "%s"
