"""Background runs: a turn that keeps going when its client leaves, with its events logged so a
client can follow it, drop off and come back (`Last-Event-ID`) without a gap or a repeat.

The run is a task of the process that accepted it; its events and outcome are rows in the
sessions' database (`service.sessions.runlog`), so any process on that database can report it,
replay its events, or ask for it to stop: the owner looks for a cancel request twice a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from agent.prompts import UnknownPromptAlias
from service.events import Event, EventHook
from service.failures import WriteFailed
from service.sessions.runlog import RunEvent, RunLog, RunRecord
from service.turn import PausedOutline, TurnResult, WriteResult

log = logging.getLogger(__name__)
CANCEL_POLL_SECONDS = 0.5
BATCH = 500  # events stored in one write, at most
CANCELLED = {"code": "cancelled", "message": "The run was cancelled (DELETE /runs/{id})."}

# What a background run needs: the turn to start, told where its events go; how its result is
# told (the `done` body); how a paused write is told (the `interrupt` body).
Start = Callable[[EventHook], Coroutine[Any, Any, TurnResult]]
Describe = Callable[[WriteResult], dict[str, Any]]
DescribePause = Callable[[PausedOutline], dict[str, Any]]


class UnknownRun(LookupError):
    """No such run, or not this user's: the same answer, so ids cannot be probed."""


@dataclass
class _Live:
    task: asyncio.Task[None]
    started: asyncio.Future[None]  # set at the run's first event, or when it ends before one


class BackgroundRuns:
    def __init__(self, log: RunLog, retention_seconds: float, max_events: int) -> None:
        self.log = log
        self.retention_seconds = retention_seconds
        self.max_events = max_events
        self._live: dict[str, _Live] = {}

    async def start(
        self,
        user_id: str | None,
        start: Start,
        describe: Describe,
        paused: DescribePause,
    ) -> str:
        """Starts the turn in the background and returns its run id once it has begun (its
        trace exists). A turn refused before it began (busy, unknown session) raises here, so
        the caller answers it as it would have answered a plain request."""
        await self.log.purge(time.time() - self.retention_seconds)
        run_id = f"run-{uuid.uuid4().hex}"
        await self.log.create(run_id, user_id)
        started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._run(run_id, start, describe, paused, started))
        self._live[run_id] = _Live(task, started)
        task.add_done_callback(lambda _: self._live.pop(run_id, None))
        await started  # raises what refused the turn before it began
        return run_id

    async def get(self, run_id: str, user_id: str | None) -> RunRecord:
        run = await self.log.get(run_id)
        if run is None or run.user_id != user_id:
            raise UnknownRun(run_id)
        return run

    async def cancel(self, run_id: str, user_id: str | None) -> RunRecord:
        """Asks the run to stop: at once here, within CANCEL_POLL_SECONDS from another process."""
        run = await self.get(run_id, user_id)
        if run.finished:
            return run
        await self.log.request_cancel(run_id)
        if live := self._live.get(run_id):
            live.task.cancel()
        return await self.get(run_id, user_id)

    async def shutdown(self, grace_seconds: float) -> None:
        """Lets running runs finish within the grace period, then cancels the rest (their
        traces and logs say `cancelled`)."""
        tasks = [live.task for live in self._live.values()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _run(
        self,
        run_id: str,
        start: Start,
        describe: Describe,
        paused: DescribePause,
        started: asyncio.Future[None],
    ) -> None:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        trace_id: list[str | None] = [None]

        def hear(event: Event) -> None:
            if event.kind == "trace":
                trace_id[0] = event.data.get("trace_id")
                if not started.done():
                    started.set_result(None)
            queue.put_nowait(event)

        seq = 0

        def numbered(kind: str, data: dict[str, Any]) -> RunEvent | None:
            nonlocal seq
            if seq >= self.max_events and kind == "token":
                return None  # bounded: the `done` event still holds the whole article
            seq += 1
            return seq, kind, {**data, "trace_id": trace_id[0]}

        async def drain() -> None:
            while True:
                waiting = [await queue.get()]
                while not queue.empty() and len(waiting) < BATCH:
                    waiting.append(queue.get_nowait())
                kept = [n for e in waiting if (n := numbered(e.kind, e.data)) is not None]
                try:
                    await self.log.append(run_id, kept)
                except Exception:  # the run goes on; its end waits for no event left unstored
                    log.exception("background run %s: %d events not stored", run_id, len(kept))
                finally:
                    for _ in waiting:
                        queue.task_done()

        writer = asyncio.create_task(drain())
        turn = asyncio.create_task(start(hear))
        watcher = asyncio.create_task(self._watch_for_cancel(run_id, turn))
        status, kind, outcome = "failed", "error", dict[str, Any]()
        try:
            result = await turn
            if isinstance(result, PausedOutline):
                status, kind, outcome = "awaiting_outline", "interrupt", paused(result)
            else:
                status, kind, outcome = "done", "done", describe(result)
        except asyncio.CancelledError:
            status, kind, outcome = "cancelled", "error", dict(CANCELLED)
        except WriteFailed as exc:
            if not started.done():  # refused before it began: the caller answers it
                started.set_exception(exc)
            outcome = {"code": exc.code, "message": str(exc), **exc.details}
        except UnknownPromptAlias as exc:
            if not started.done():
                started.set_exception(exc)
            outcome = {"code": "unknown_prompt_alias", "message": str(exc)}
        except Exception:
            log.exception("background run %s failed", run_id)
            outcome = {"code": "internal_error", "message": WriteFailed.MESSAGES["internal_error"]}
        finally:
            watcher.cancel()
            if not started.done():
                started.set_result(None)
            await queue.join()  # every event heard is stored before the last one
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            # Shielded: a shutdown that cancels this task must not lose how the run ended.
            last = numbered(kind, outcome)
            await asyncio.shield(self._finish(run_id, last, status, outcome))

    async def _finish(
        self, run_id: str, last: RunEvent | None, status: str, outcome: dict[str, Any]
    ) -> None:
        await self.log.append(run_id, [last] if last else [])
        await self.log.finish(run_id, status, outcome)

    async def _watch_for_cancel(self, run_id: str, turn: asyncio.Task[TurnResult]) -> None:
        while not turn.done():
            await asyncio.sleep(CANCEL_POLL_SECONDS)
            run = await self.log.get(run_id)
            if run is not None and run.cancel_requested:
                turn.cancel()
                return
