"""Where sessions last: a session's state read back whole, and nothing else rebuilt from it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.base import empty_checkpoint
from pydantic import BaseModel

from agent.state import Article, Source
from cli.settings import Settings
from service.request import WriteRequest
from service.sessions import open_persistence
from service.sessions.persistence import serializer
from service.turn import ArticleWriter


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A sessions database of each kind: a new sqlite file, or a PostgreSQL server's."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    return str(request.getfixturevalue("postgres_url"))


async def test_a_session_is_read_back_whole_after_the_database_is_reopened(
    offline_settings: Settings, database: str
) -> None:
    url = database
    async with open_persistence(url) as persistence:
        written = await ArticleWriter(offline_settings, persistence).write(
            WriteRequest(topic="Coral reefs", user_id="ada")
        )
    async with open_persistence(url) as persistence:
        writer = ArticleWriter(offline_settings, persistence)
        view = await writer.session(written.session_id, "ada")
        config = {"configurable": {"thread_id": written.session_id}}
        state = (await writer.graph.aget_state(config)).values  # type: ignore[arg-type]
    assert view.article == written.article and isinstance(view.article, Article)
    assert [t.title for t in view.record.turns] == [written.article.title]
    assert state["sources"] and all(isinstance(s, Source) for s in state["sources"])
    assert state["review_messages"]
    assert all(isinstance(m, BaseMessage) for m in state["review_messages"])


async def test_sessions_and_checkpoints_written_at_once_on_sqlite_all_succeed(
    tmp_path: Path,
) -> None:
    """Three articles at once write checkpoints (one connection) while their session records
    are read and written (the store's): on one sqlite file, no write is refused as locked."""
    async with open_persistence(f"sqlite:///{tmp_path / 'sessions.db'}") as persistence:

        async def checkpoint(n: int) -> None:
            config = {"configurable": {"thread_id": f"t{n}", "checkpoint_ns": ""}}
            await persistence.checkpointer.aput(config, empty_checkpoint(), {}, {})  # type: ignore[arg-type]

        async def record(n: int) -> None:
            store = persistence.store
            await asyncio.gather(store.aget(("s",), f"a{n}"), store.aput(("s",), f"b{n}", {}))

        outcomes = []
        for n in range(60):
            outcomes += await asyncio.gather(
                record(n), checkpoint(n), checkpoint(-n), record(-n), return_exceptions=True
            )
    assert [o for o in outcomes if isinstance(o, BaseException)] == []


class Planted(BaseModel):
    """A class nobody listed: a checkpoint that names it must not make the app import it."""

    command: str = "rm -rf /"


def test_only_the_states_own_classes_are_rebuilt_from_a_checkpoint() -> None:
    serde = serializer()
    stored = serde.dumps_typed({"planted": Planted(), "article": article()})
    read = serde.loads_typed(stored)
    assert read["planted"] == {"command": "rm -rf /"}  # plain data, never a Planted
    assert read["article"] == article()


def article() -> Article:
    return Article(title="T", markdown="# T", sections=[], references=[], word_count=1)


@pytest.mark.parametrize(
    "url", ["postgresql:/db", "postgres://", "sqlite://relative", "mysql://db"]
)
def test_an_unknown_checkpoint_url_is_refused_at_start(url: str) -> None:
    with pytest.raises(ValueError, match="CHECKPOINT_URL"):
        Settings(_env_file=None, checkpoint_url=url)


OPEN_AT = """
import asyncio, sys, time
from service.sessions import open_persistence

async def main() -> None:
    time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all released at one moment
    async with open_persistence(sys.argv[1]):
        pass

asyncio.run(main())
"""


def test_processes_starting_together_on_a_new_database_all_start(tmp_path: Path) -> None:
    """Workers and replicas start at once: every one must create or find the tables."""
    url = f"sqlite:///{tmp_path / 'sessions.db'}"
    release = time.time() + 8  # after every process has imported LangGraph
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT, url, str(release)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    failures = [p.communicate(timeout=60)[1] for p in processes if p.wait(timeout=60) != 0]
    assert failures == []


async def test_one_claim_on_a_session_at_a_time_until_released_or_its_lease_ends(
    database: str,
) -> None:
    async with open_persistence(database) as one, open_persistence(database) as other:
        # Two processes' worth: each opened the database on its own.
        assert await one.claims.claim("s-claimed", 60)
        assert not await other.claims.claim("s-claimed", 60)  # another process's turn
        assert not await one.claims.claim("s-claimed", 60)  # and its own second one
        await other.claims.release("s-claimed")  # not its claim: nothing happens
        assert not await other.claims.claim("s-claimed", 60)
        await one.claims.release("s-claimed")
        assert await other.claims.claim("s-claimed", 0.2)
        await asyncio.sleep(0.3)  # a process that died holding it: the lease ends
        assert await one.claims.claim("s-claimed", 60)
