"""How the API answers a turn of a session (`POST /write`, `/sessions/{id}/revise`, `/outline`):
the JSON body with the trace id in `X-Trace-Id`, its events as Server-Sent Events, or, with
`Prefer: respond-async`, `202` and a background run to follow at `/runs/{id}`."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from api.deps import RunsDep, SettingsDep, TrackingDep
from api.middleware import current_request_id
from api.schemas import OutlinePending, PromptUsed, UsageOut, WriteResponse
from api.security.ratelimit import RateLimiter
from api.security.ratelimit_routes import CallerIdDep, LimiterDep
from api.settings import ApiSettings
from api.streaming import stream_article
from service.events import EventHook
from service.runs import BackgroundRuns
from service.turn import PausedOutline, TurnResult, WriteResult
from tracing import TrackingConnection, distributed

# A turn to run (`ArticleWriter.write` or `.revise` on one request): where its events go, and
# whether they include the article's text as it is written.
Start = Callable[[EventHook | None, bool], Coroutine[Any, Any, TurnResult]]

STREAM_DOC = {
    "description": "With `Accept: text/event-stream`: Server-Sent Events `trace`, `node`, "
    "`tool`, `token`, `usage`, then `done` (this JSON body), `interrupt` (the 202 body) or "
    "`error`; see the README.",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}
PAUSED_DOC = {
    "model": OutlinePending,
    "description": "`review_outline`: the run paused after its plan; approve or edit the "
    "outline with POST /sessions/{id}/outline.",
}


def this_request_id() -> str:
    found = current_request_id()
    if found is None:  # as `request.state.request_id` would have raised
        raise RuntimeError("no request id: create_app installs the middleware that sets it")
    return found


def call(how: Answering) -> dict[str, Any]:
    """What a turn keeps of its HTTP request: the request id, and the trace context the caller
    sent, so the turn's trace goes on from the caller's (`tracing.distributed`)."""
    return {
        "request_id": this_request_id(),
        "trace_context": distributed.caller_context(how.request.headers),
    }


def wants_events(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def wants_background(request: Request) -> bool:
    # RFC 7240's preference; other preferences may stand beside it.
    prefer = request.headers.get("prefer", "")
    return "respond-async" in {part.strip().lower() for part in prefer.split(",")}


@dataclass(frozen=True)
class Answering:
    """What answering a turn takes of the request and the app, as one route dependency."""

    request: Request
    response: Response
    tracking: TrackingConnection
    settings: ApiSettings
    runs: BackgroundRuns
    limiter: RateLimiter
    caller: str  # who the article slots are counted for (api.security.ratelimit_routes.caller_id)


def answering(
    request: Request,
    response: Response,
    tracking: TrackingDep,
    settings: SettingsDep,
    runs: RunsDep,
    limiter: LimiterDep,
    caller: CallerIdDep,
) -> Answering:
    return Answering(request, response, tracking, settings, runs, limiter, caller)


AnsweringDep = Annotated[Answering, Depends(answering)]
Answer = WriteResponse | EventSourceResponse | JSONResponse


async def answer(start: Start, how: Answering, owner: str | None) -> Answer:
    """The turn's result as JSON, as a stream when asked for events, or, with `Prefer:
    respond-async`, a background run owned by `owner` that outlives the request."""
    request_id = this_request_id()
    start = holding_slot(start, how)
    if wants_background(how.request):
        run_id = await how.runs.start(
            owner,
            lambda on_event: start(on_event, True),
            lambda result: describe(result, request_id, how.tracking).model_dump(mode="json"),
            lambda paused: paused_body(paused, request_id, how.tracking),
        )
        run = f"/runs/{run_id}"
        body = {"run_id": run_id, "status": "running", "url": run, "events": f"{run}/events"}
        headers = {"Location": run, "Preference-Applied": "respond-async"}
        return JSONResponse(body, status_code=202, headers=headers)
    if wants_events(how.request):
        return await stream(start, how.tracking, how.settings)
    result = await start(None, False)
    if isinstance(result, PausedOutline):
        body = paused_body(result, request_id, how.tracking)
        headers = {"X-Trace-Id": result.trace_id} if result.trace_id else {}
        return JSONResponse(body, status_code=202, headers=headers)
    if result.trace_id:
        how.response.headers["X-Trace-Id"] = result.trace_id
    return describe(result, request_id, how.tracking)


def holding_slot(start: Start, how: Answering) -> Start:
    """The turn, holding one of its caller's article slots from now until it ends (429 now when
    they are all taken). A turn that never starts (its client left first) lets its slot lapse."""
    give_back = how.limiter.take(how.caller)

    async def held(on_event: EventHook | None, tokens: bool) -> TurnResult:
        try:
            return await start(on_event, tokens)
        finally:
            give_back()

    return held


async def stream(
    start: Start, tracking: TrackingConnection, settings: ApiSettings
) -> EventSourceResponse:
    """The turn's events as Server-Sent Events, its result as the `done` event."""
    request_id = this_request_id()
    return await stream_article(
        lambda on_event: start(on_event, True),
        describe=lambda result: describe(result, request_id, tracking).model_dump(mode="json"),
        paused=lambda paused: paused_body(paused, request_id, tracking),
        trace_url=tracking.trace_url,
        ping_seconds=settings.sse_ping_seconds,
        shutdown_grace_seconds=settings.shutdown_grace_seconds,
    )


def paused_body(
    paused: PausedOutline, request_id: str, tracking: TrackingConnection
) -> dict[str, Any]:
    """The 202 body of a paused write, and the `interrupt` event of a stream."""
    return OutlinePending(
        **paused.body(), trace_url=tracking.trace_url(paused.trace_id), request_id=request_id
    ).model_dump(mode="json")


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
