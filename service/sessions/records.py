"""Who owns a session and what happened in it, turn by turn, kept in LangGraph's store.

The session's graph state (the current article, its sources) is the checkpointer's, by thread
id = session id; this record is what the graph state does not hold: the owner, and each turn's
instruction, outcome and trace.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from langgraph.store.base import BaseStore
from pydantic import BaseModel, Field

from service.sessions.claims import Claims

NAMESPACE = ("sessions",)


class UnknownSession(LookupError):
    """No such session, or not this user's: the same answer, so ids cannot be probed."""


class SessionBusy(RuntimeError):
    """A turn of the session is still running."""


class Turn(BaseModel):
    n: int
    kind: str = Field(description="`write`: a new article; later kinds revise it.")
    instruction: str = Field(description="What the turn was asked: the topic, for `write`.")
    trace_id: str | None
    at: str = Field(description="When the turn ended, ISO 8601 UTC.")
    title: str | None = None
    words: int | None = None
    error: str | None = Field(None, description="The error code, when the turn failed.")
    checkpoint_id: str | None = Field(
        None, description="The graph state it left (an article, or an outline awaiting approval)."
    )
    awaiting: str | None = Field(
        None, description="`outline`: the turn paused after its plan, for a person to approve."
    )


class SessionRecord(BaseModel):
    session_id: str
    user_id: str | None = Field(description="The user of the first turn, who owns it.")
    created: str
    turns: list[Turn] = Field(default_factory=list)

    @property
    def next_turn(self) -> int:
        return len(self.turns) + 1

    @property
    def current(self) -> str | None:
        """The checkpoint of the session's article: the last turn that wrote one, unless a
        later `write` (which replaces the article) failed. A failed turn's state is saved too
        (LangGraph saves on exit), and never read."""
        for turn in reversed(self.turns):
            if turn.checkpoint_id and not turn.awaiting:
                return turn.checkpoint_id
            if turn.kind == "write":
                return None
        return None

    @property
    def pending_outline(self) -> Turn | None:
        """The last turn, if it paused with an outline nobody has answered yet."""
        last = self.turns[-1] if self.turns else None
        return last if last is not None and last.awaiting == "outline" else None


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Sessions:
    """Session records in `store`; a turn is refused while another of the session runs, in any
    process sharing `claims` (a claim outlives a dead process by at most `lease_seconds`)."""

    def __init__(self, store: BaseStore, claims: Claims, lease_seconds: float) -> None:
        self.store = store
        self.claims = claims
        self.lease_seconds = lease_seconds

    async def get(self, session_id: str, user_id: str | None) -> SessionRecord:
        item = await self.store.aget(NAMESPACE, session_id)
        if item is None:
            raise UnknownSession(session_id)
        record = SessionRecord.model_validate(item.value)
        if record.user_id != user_id:
            raise UnknownSession(session_id)
        return record

    async def find_or_start(self, session_id: str, user_id: str | None) -> SessionRecord:
        try:
            return await self.get(session_id, user_id)
        except UnknownSession:
            if await self.store.aget(NAMESPACE, session_id) is not None:
                raise  # someone else's
        return SessionRecord(session_id=session_id, user_id=user_id, created=now())

    async def add_turn(self, record: SessionRecord, turn: Turn) -> None:
        record.turns.append(turn)
        await self.store.aput(NAMESPACE, record.session_id, record.model_dump())

    async def delete(self, session_id: str) -> None:
        await self.store.adelete(NAMESPACE, session_id)

    @contextlib.asynccontextmanager
    async def turn(
        self, session_id: str, user_id: str | None, kind: str, instruction: str
    ) -> AsyncIterator[TurnInProgress]:
        """A turn of the session, one at a time per session. A `write` turn starts the session
        if it is new; a later kind needs it to exist."""
        if kind == "write":
            record = await self.find_or_start(session_id, user_id)
        else:
            record = await self.get(session_id, user_id)
        if not await self.claims.claim(session_id, self.lease_seconds):
            raise SessionBusy(session_id)
        try:
            # Read again under the claim: another process may have added a turn meanwhile.
            fresh = await self.store.aget(NAMESPACE, session_id)
            if fresh is not None:
                record = SessionRecord.model_validate(fresh.value)
            yield TurnInProgress(self, record, kind, instruction)
        finally:
            await self.claims.release(session_id)


def turn_of(n: int, kind: str, instruction: str, trace_id: str | None, **outcome: Any) -> Turn:
    return Turn(n=n, kind=kind, instruction=instruction, trace_id=trace_id, at=now(), **outcome)


class TurnInProgress:
    """One turn of a session while it runs: claimed on entry, recorded and released on exit."""

    def __init__(self, sessions: Sessions, record: SessionRecord, kind: str, instruction: str):
        self.sessions, self.record = sessions, record
        self.kind, self.instruction = kind, instruction
        self.n = record.next_turn
        self.trace_id: str | None = None
        self.continues: str | None = None  # the paused turn's trace an approval goes on from

    @property
    def session_id(self) -> str:
        return self.record.session_id

    async def done(self, **outcome: Any) -> None:
        """Records the turn: `title` and `words`, or `error` with the failure's code."""
        turn = turn_of(self.n, self.kind, self.instruction, self.trace_id, **outcome)
        await self.sessions.add_turn(self.record, turn)
