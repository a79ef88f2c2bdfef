"""POST /write: one article, with the id of the trace that recorded its making."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request, Response

from agent.writer import WriteRequest
from api.deps import TrackingDep, WriterDep
from api.schemas import ErrorBody, PromptUsed, UsageOut, WriteBody, WriteResponse

router = APIRouter(tags=["articles"])
ERRORS = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        413: "Request body too large.",
        422: "Invalid request (each field to fix is named), or an unknown prompt alias.",
        500: "Internal error; the trace id identifies the request.",
        502: "The model provider failed after retries.",
        503: "Too many articles in progress; retry after the Retry-After seconds.",
        504: "The article took longer than the server allows.",
    }.items()
}


@router.post("/write", response_model=WriteResponse, responses=ERRORS)  # type: ignore[arg-type]
async def write(
    body: WriteBody, request: Request, response: Response, writer: WriterDep, tracking: TrackingDep
) -> WriteResponse:
    """Plans, researches, drafts, reviews and finalizes an article on `topic`.

    The response header `X-Trace-Id` and the body's `trace_id` name the MLflow trace of the
    whole run; `trace_url` opens it in the MLflow UI.
    """
    result = await writer.write(
        WriteRequest(**body.model_dump(), request_id=request.state.request_id)
    )
    if result.trace_id:
        response.headers["X-Trace-Id"] = result.trace_id
    return WriteResponse(
        article=result.article,
        trace_id=result.trace_id,
        trace_url=tracking.trace_url(result.trace_id),
        request_id=request.state.request_id,
        usage=UsageOut(**asdict(result.usage)),
        cost_usd=result.cost_usd,
        model=result.model,
        duration_ms=result.duration_ms,
        prompts=[PromptUsed(**prompt) for prompt in result.prompts],
    )
