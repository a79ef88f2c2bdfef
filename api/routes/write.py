"""POST /write: one article, with the id of the trace that recorded its making."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sse_starlette import EventSourceResponse

from agent.request import WriteRequest
from agent.settings import Settings
from agent.tracing import TrackingConnection
from agent.writer import ArticleWriter, WriteResult
from api.deps import SettingsDep, TrackingDep, WriterDep
from api.middleware import current_request_id
from api.schemas import ErrorBody, PromptUsed, UsageOut, WriteBody, WriteResponse
from api.streaming import stream_article

router = APIRouter(tags=["articles"])
ERRORS = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        404: "`unknown_session`: `session_id` names another user's session.",
        409: "`session_busy`: a turn of the same session is still running.",
        413: "Request body too large.",
        422: "Invalid request (each field to fix is named), an unknown prompt alias, "
        "`no_sources` (the library has nothing on the topic; `closest_sources` lists what it "
        "holds) or `context_too_small` (the article cannot fit the model's context).",
        500: "Internal error; the trace id identifies the request.",
        502: "`provider_error` (the provider failed after retries), `provider_rejected` (it "
        "refused the request; retrying will not help) or `model_error` (the model's answer "
        "was unusable, even after one corrective retry).",
        503: "Too many articles in progress; retry after the Retry-After seconds.",
        504: "The article took longer than the server allows.",
    }.items()
}


STREAM_DOC = {
    "description": "With `Accept: text/event-stream`: Server-Sent Events `trace`, `node`, "
    "`tool`, `token`, `usage`, then `done` (this JSON body) or `error`; see the README.",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


@router.post(
    "/write",
    response_model=WriteResponse,
    responses={**ERRORS, 200: STREAM_DOC},  # type: ignore[dict-item]
)
async def write(
    body: WriteBody,
    request: Request,
    response: Response,
    writer: WriterDep,
    tracking: TrackingDep,
    settings: SettingsDep,
) -> WriteResponse | EventSourceResponse:
    """Plans, researches, drafts, reviews and finalizes an article on `topic`.

    The response header `X-Trace-Id` and the body's `trace_id` name the MLflow trace of the
    whole run; `trace_url` opens it in the MLflow UI. Send `Accept: text/event-stream` to watch
    it being written instead.
    """
    job = WriteRequest(**body.model_dump(), request_id=_request_id())
    if "text/event-stream" in request.headers.get("accept", ""):
        return await _stream(job, writer, tracking, settings)
    result = await writer.write(job)
    if result.trace_id:
        response.headers["X-Trace-Id"] = result.trace_id
    return describe(result, job.request_id, tracking)


@router.get(
    "/write/stream",
    response_class=EventSourceResponse,
    responses={**ERRORS, 200: STREAM_DOC},  # type: ignore[dict-item]
)
async def write_stream(
    query: Annotated[WriteBody, Query()],
    request: Request,
    writer: WriterDep,
    tracking: TrackingDep,
    settings: SettingsDep,
) -> EventSourceResponse:
    """The same run as Server-Sent Events, for a browser `EventSource` (parameters in the query).

    Close the `EventSource` on `done` or `error`: left open, it would reconnect and start a new
    article.
    """
    job = WriteRequest(**query.model_dump(), request_id=_request_id())
    return await _stream(job, writer, tracking, settings)


def _request_id() -> str:
    request_id = current_request_id()
    if request_id is None:  # as `request.state.request_id` would have raised
        raise RuntimeError("no request id: create_app installs the middleware that sets it")
    return request_id


async def _stream(
    job: WriteRequest, writer: ArticleWriter, tracking: TrackingConnection, settings: Settings
) -> EventSourceResponse:
    return await stream_article(
        writer,
        job,
        describe=lambda result: describe(result, job.request_id, tracking).model_dump(mode="json"),
        trace_url=tracking.trace_url,
        ping_seconds=settings.sse_ping_seconds,
        shutdown_grace_seconds=settings.shutdown_grace_seconds,
    )


def describe(result: WriteResult, request_id: str, tracking: TrackingConnection) -> WriteResponse:
    """The response body: the JSON answer, and the `done` event of a stream."""
    return WriteResponse(
        article=result.article,
        trace_id=result.trace_id,
        trace_url=tracking.trace_url(result.trace_id),
        request_id=request_id,
        usage=UsageOut(**asdict(result.usage)),
        cost_usd=result.cost_usd,
        model=result.model,
        duration_ms=result.duration_ms,
        prompts=[PromptUsed(**prompt) for prompt in result.prompts],
        session_id=result.session_id,
        turn=result.turn,
    )
