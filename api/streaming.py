"""The SSE encoding of a run: `trace` first, progress events, then `done` or `error`.

The run goes on in its own task and hands its events over a queue; the response pulls the
first one (`trace`) before answering, so the trace id can go in the `X-Trace-Id` header. When
the client hangs up, sse-starlette cancels the stream, and the stream cancels the run: no model
call starts after that, and the trace ends as ERROR with `cancelled` (mlflow.md trap 4).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent

from agent.events import Event
from agent.prompt_registry import UnknownPromptAlias
from agent.writer import ArticleWriter, WriteFailed, WriteRequest, WriteResult

log = logging.getLogger(__name__)
CANCEL_GRACE_SECONDS = 5
_FINISHED = object()


async def stream_article(
    writer: ArticleWriter,
    request: WriteRequest,
    describe: Callable[[WriteResult], dict[str, Any]],
    trace_url: Callable[[str | None], str | None],
    ping_seconds: float,
) -> EventSourceResponse:
    """Starts the run and answers with its event stream; `describe` builds the `done` body."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    run = asyncio.create_task(writer.write(request, on_event=queue.put_nowait, tokens=True))
    run.add_done_callback(lambda _: queue.put_nowait(_FINISHED))

    first = await queue.get()
    if first is _FINISHED:
        run.result()  # failed before it began (server busy): raises, answered as plain JSON
        raise RuntimeError("the run ended without a trace event")  # pragma: no cover
    trace_id: str | None = first.data["trace_id"]

    async def events() -> AsyncIterator[ServerSentEvent]:
        number = 0

        def encode(kind: str, data: dict[str, Any]) -> ServerSentEvent:
            nonlocal number
            number += 1
            body = {**data, "trace_id": trace_id}
            return ServerSentEvent(data=json.dumps(body, default=str), event=kind, id=str(number))

        try:
            yield encode("trace", {**first.data, "trace_url": trace_url(trace_id)})
            while (item := await queue.get()) is not _FINISHED:
                event: Event = item
                yield encode(event.kind, event.data)
            try:
                yield encode("done", describe(run.result()))
            except (WriteFailed, UnknownPromptAlias) as exc:
                code = exc.code if isinstance(exc, WriteFailed) else "unknown_prompt_alias"
                yield encode("error", {"code": code, "message": str(exc)})
            except Exception:
                log.exception("stream failed (trace %s)", trace_id)
                yield encode(
                    "error",
                    {"code": "internal_error", "message": WriteFailed.MESSAGES["internal_error"]},
                )
        finally:
            if not run.done():
                run.cancel()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    async with asyncio.timeout(CANCEL_GRACE_SECONDS):
                        await run

    headers = {"X-Trace-Id": trace_id} if trace_id else {}
    return EventSourceResponse(events(), headers=headers, ping=ping_seconds)
