"""Background runs (`Prefer: respond-async` on a turn): their state and result, their events
from any point (`Last-Event-ID`), and cancelling them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import RunsDep, SettingsDep
from api.schemas import ErrorBody, RunOut
from api.security.auth import OwnerDep
from service.failures import WriteFailed
from service.runs import BackgroundRuns, UnknownRun
from service.sessions.runlog import RunRecord

router = APIRouter(tags=["runs"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "`unknown_run`: no such run for this user."},
    422: {"model": ErrorBody, "description": "A malformed run or user id."},
}
RunId = Annotated[str, Path(pattern=r"^run-[0-9a-f]{32}$")]
POLL_SECONDS = 0.2  # how soon a follower sees an event another process stored
BATCH = 500


async def _found(runs: BackgroundRuns, run_id: str, user_id: str | None) -> RunRecord:
    try:
        return await runs.get(run_id, user_id)
    except UnknownRun:
        raise WriteFailed("unknown_run", None) from None


async def _out(runs: BackgroundRuns, run: RunRecord) -> RunOut:
    first = await runs.log.events_after(run.run_id, 0, 1)
    trace_id = first[0][2].get("trace_id") if first else None
    return RunOut(
        run_id=run.run_id,
        status=run.status,
        trace_id=trace_id,
        cancel_requested=run.cancel_requested,
        outcome=run.outcome,
    )


@router.get("/runs/{run_id}", response_model=RunOut, responses=ERRORS)
async def get_run(run_id: RunId, runs: RunsDep, owner: OwnerDep) -> RunOut:
    """The run's status and, once it has ended, its outcome."""
    return await _out(runs, await _found(runs, run_id, owner))


@router.delete("/runs/{run_id}", response_model=RunOut, status_code=202, responses=ERRORS)
async def cancel_run(run_id: RunId, runs: RunsDep, owner: OwnerDep) -> RunOut:
    """Stops the run (its trace ends `cancelled`); a run that has ended is left as it was."""
    try:
        run = await runs.cancel(run_id, owner)
    except UnknownRun:
        raise WriteFailed("unknown_run", None) from None
    return await _out(runs, run)


@router.get(
    "/runs/{run_id}/events",
    response_class=EventSourceResponse,
    responses={
        **ERRORS,
        200: {
            "description": "The run's events, as /write streams them, each with its number as "
            "the SSE id: from the start, or after `Last-Event-ID`; then the live ones.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
    },
)
async def run_events(
    run_id: RunId,
    runs: RunsDep,
    settings: SettingsDep,
    owner: OwnerDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """Every event after `Last-Event-ID` (all of them without it), then the live ones, until
    the run's last event. A client that drops and reconnects misses nothing and sees nothing
    twice."""
    await _found(runs, run_id, owner)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0

    async def events() -> AsyncIterator[ServerSentEvent]:
        seen = after
        while True:
            batch = await runs.log.events_after(run_id, seen, BATCH)
            for seq, kind, data in batch:
                seen = seq
                yield ServerSentEvent(data=json.dumps(data, default=str), event=kind, id=str(seq))
            if batch:
                continue
            run = await runs.log.get(run_id)
            if run is None or run.finished:
                # Its last event was stored before it was marked finished: read once more.
                if not await runs.log.events_after(run_id, seen, 1):
                    return
                continue
            await asyncio.sleep(POLL_SECONDS)

    return EventSourceResponse(events(), ping=settings.sse_ping_seconds)
