"""The SSE encoding of a run: `trace` first, progress events, then `done`, `interrupt` (a
write paused after its plan for approval) or `error`.

The run goes on in its own task and hands its events over a queue; the response pulls the
first one (`trace`) before answering, so the trace id can go in the `X-Trace-Id` header. When
the client hangs up, sse-starlette cancels the stream, and the stream cancels the run: no model
call starts after that, and the trace ends as ERROR with `cancelled`.

On shutdown (SIGTERM), a stream goes on for the grace period; a run that would outlast it is
stopped a little before, so the client still gets an `error` event saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import anyio
from sse_starlette import EventSourceResponse, ServerSentEvent

from agent.prompts import UnknownPromptAlias
from service.events import Event, EventHook
from service.failures import WriteFailed
from service.turn import PausedOutline, TurnResult, WriteResult

log = logging.getLogger(__name__)
CANCEL_GRACE_SECONDS = 5


def farewell_seconds(grace_seconds: float) -> float:
    """How long before the grace period ends a stream's run is stopped: the time to cancel the
    run (its spans ended) and send the `error` event before the server closes the connection.
    A third of the grace period, from 1 s to 5 s: a busy machine needs more than a second."""
    return min(max(grace_seconds / 3, 1.0), 5.0)


SHUTTING_DOWN = {
    "code": "shutting_down",
    "message": "The server is shutting down and stopped this article. Try again.",
}
_FINISHED = object()


# A run to stream (`ArticleWriter.write` or `.revise` on one request), told where its events go.
Run = Callable[[EventHook], Coroutine[Any, Any, TurnResult]]


async def stream_article(
    start: Run,
    describe: Callable[[WriteResult], dict[str, Any]],
    paused: Callable[[PausedOutline], dict[str, Any]],
    trace_url: Callable[[str | None], str | None],
    ping_seconds: float,
    shutdown_grace_seconds: float,
) -> EventSourceResponse:
    """Starts the run and answers with its event stream; `describe` builds the `done` body,
    `paused` the `interrupt` one."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    run = asyncio.create_task(start(queue.put_nowait))
    run.add_done_callback(lambda _: queue.put_nowait(_FINISHED))

    first = await queue.get()
    if first is _FINISHED:
        run.result()  # failed before it began (server busy): raises, answered as plain JSON
        raise RuntimeError("the run ended without a trace event")  # pragma: no cover
    trace_id: str | None = first.data["trace_id"]
    shutdown = anyio.Event()  # sse-starlette sets it when the server begins to shut down

    async def stop_before_the_grace_period_ends() -> None:
        await shutdown.wait()
        await asyncio.sleep(
            max(shutdown_grace_seconds - farewell_seconds(shutdown_grace_seconds), 0)
        )
        run.cancel()

    async def events() -> AsyncIterator[ServerSentEvent]:
        number = 0

        def encode(kind: str, data: dict[str, Any]) -> ServerSentEvent:
            nonlocal number
            number += 1
            body = {**data, "trace_id": trace_id}
            return ServerSentEvent(data=json.dumps(body, default=str), event=kind, id=str(number))

        watcher = asyncio.create_task(stop_before_the_grace_period_ends())
        try:
            yield encode("trace", {**first.data, "trace_url": trace_url(trace_id)})
            while (item := await queue.get()) is not _FINISHED:
                event: Event = item
                yield encode(event.kind, event.data)
            try:
                result = run.result()
                if isinstance(result, PausedOutline):  # paused after the plan; the stream ends
                    yield encode("interrupt", paused(result))
                else:
                    yield encode("done", describe(result))
            except asyncio.CancelledError:  # the run, not this stream: stopped by the watcher
                yield encode("error", SHUTTING_DOWN)
            except WriteFailed as exc:
                yield encode("error", {"code": exc.code, "message": str(exc), **exc.details})
            except UnknownPromptAlias as exc:
                yield encode("error", {"code": "unknown_prompt_alias", "message": str(exc)})
            except Exception:
                log.exception("stream failed (trace %s)", trace_id)
                yield encode(
                    "error",
                    {"code": "internal_error", "message": WriteFailed.MESSAGES["internal_error"]},
                )
        finally:
            watcher.cancel()
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    async with asyncio.timeout(CANCEL_GRACE_SECONDS):
                        await run

    headers = {"X-Trace-Id": trace_id} if trace_id else {}
    return EventSourceResponse(
        events(),
        headers=headers,
        ping=ping_seconds,
        shutdown_event=shutdown,
        shutdown_grace_period=shutdown_grace_seconds,
    )
