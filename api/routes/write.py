"""POST /write: one article, with the id of the trace that recorded its making."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sse_starlette import EventSourceResponse

from api import turns
from api.deps import WriterDep
from api.schemas import WriteBody, WriteResponse
from api.security.auth import CallerDep, as_caller
from api.status import WRITE_ERRORS
from service.request import WriteRequest
from service.turn import ArticleWriter

router = APIRouter(tags=["articles"])


@router.post(
    "/write",
    response_model=WriteResponse,
    responses={**WRITE_ERRORS, 200: turns.STREAM_DOC, 202: turns.PAUSED_DOC},
)
async def write(
    body: WriteBody, writer: WriterDep, how: turns.AnsweringDep, key: CallerDep
) -> turns.Answer:
    """Plans, researches, drafts, reviews and finalizes an article on `topic`.

    The response header `X-Trace-Id` and the body's `trace_id` name the MLflow trace of the
    whole run; `trace_url` opens it in the MLflow UI. Send `Accept: text/event-stream` to watch
    it being written instead. With `review_outline`, the run pauses after its plan: 202 with
    the outline (a stream ends with an `interrupt` event) until POST /sessions/{id}/outline.
    """
    job = WriteRequest(**as_caller(body.model_dump(), key), **turns.call(how))
    return await turns.answer(_start(writer, job), how, job.owner)


@router.get(
    "/write/stream",
    response_class=EventSourceResponse,
    responses={**WRITE_ERRORS, 200: turns.STREAM_DOC},
)
async def write_stream(
    query: Annotated[WriteBody, Query()],
    writer: WriterDep,
    how: turns.AnsweringDep,
    key: CallerDep,
) -> EventSourceResponse:
    """The same run as Server-Sent Events, for a browser `EventSource` (parameters in the query).

    Close the `EventSource` on `done` or `error`: left open, it would reconnect and start a new
    article.
    """
    job = WriteRequest(**as_caller(query.model_dump(), key), **turns.call(how))
    return await turns.stream(
        turns.holding_slot(_start(writer, job), how), how.tracking, how.settings
    )


def _start(writer: ArticleWriter, job: WriteRequest) -> turns.Start:
    return lambda on_event, tokens: writer.write(job, on_event=on_event, tokens=tokens)
