"""Where sessions last: LangGraph's checkpointer (each session's graph state, by thread) and
its store (who owns each session and its turns), both at CHECKPOINT_URL.

`memory` keeps them in the process (the command line's one-off runs, evaluation); a
`sqlite:///path` file lasts across restarts, for one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore
from langgraph.store.sqlite.aio import AsyncSqliteStore

# The classes a checkpoint may rebuild when it is read back. LangGraph otherwise imports
# whatever class a stored checkpoint names, so a database someone could write to would be
# code they could run; this list is the state's own types (`agent.state`, `agent.sources`) and
# the LangChain messages the research and review conversations hold.
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
    ("agent.sources", "Passage"),
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


@dataclass(frozen=True)
class Persistence:
    checkpointer: BaseCheckpointSaver[str]
    store: BaseStore
    url: str


def serializer() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)


def memory() -> Persistence:
    return Persistence(InMemorySaver(serde=serializer()), InMemoryStore(), MEMORY)


@contextlib.asynccontextmanager
async def open_persistence(url: str) -> AsyncIterator[Persistence]:
    """The checkpointer and store at `url`, created if new, closed when the block ends."""
    if url == MEMORY:
        yield memory()
        return
    if not url.startswith(SQLITE):
        raise ValueError(f"CHECKPOINT_URL={url!r}: use {MEMORY!r} or {SQLITE}<path>")
    path = Path(url.removeprefix(SQLITE))
    path.parent.mkdir(parents=True, exist_ok=True)
    # One connection each: the saver commits per write, the store runs in autocommit mode.
    async with (
        aiosqlite.connect(path) as saver_db,
        aiosqlite.connect(path, isolation_level=None) as store_db,
    ):
        checkpointer = AsyncSqliteSaver(saver_db, serde=serializer())
        store = AsyncSqliteStore(store_db)
        async with _only_one_process(path):
            await checkpointer.setup()
            await store.setup()
        yield Persistence(checkpointer, store, url)


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
