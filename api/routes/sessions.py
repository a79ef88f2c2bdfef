"""A session's later turns (POST /sessions/{id}/revise, /outline), its turns and current
article (GET), and forgetting it (DELETE)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from api import turns
from api.deps import WriterDep
from api.schemas import ErrorBody, OutlineBody, ReviseBody, SessionOut, WriteResponse
from api.security.auth import CallerDep, OwnerDep, as_caller
from api.status import WRITE_ERRORS
from service.failures import WriteFailed
from service.request import ID_PATTERN, OutlineRequest, ReviseRequest
from service.sessions import UnknownSession

router = APIRouter(tags=["sessions"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No session with that id for this user."},
    422: {"model": ErrorBody, "description": "A malformed session or user id."},
}
SessionId = Annotated[str, Path(pattern=ID_PATTERN)]


REVISE_ERRORS = {
    **WRITE_ERRORS,
    404: {"model": ErrorBody, "description": "`unknown_session`: no such session for this user."},
    409: {
        "model": ErrorBody,
        "description": "`session_busy`: a turn of it is still running; `no_article`: its "
        "write produced no article to revise.",
    },
    422: {
        "model": ErrorBody,
        "description": "Invalid request, `unrevisable` (a change this app cannot make; the "
        "message says what it can do) or `no_sources` (nothing in the library for the section "
        "asked for). The article is unchanged.",
    },
}


@router.post(
    "/sessions/{session_id}/revise",
    response_model=WriteResponse,
    responses={**REVISE_ERRORS, 200: turns.STREAM_DOC},
)
async def revise(
    session_id: SessionId,
    body: ReviseBody,
    writer: WriterDep,
    how: turns.AnsweringDep,
    key: CallerDep,
) -> turns.Answer:
    """Revises the session's current article as `instruction` asks: shorter or longer, a new
    section from the library (cited), a section dropped, a new tone or audience. A new turn in
    a trace of its own, answered like `/write` (JSON, or events with `Accept:
    text/event-stream`)."""
    job = ReviseRequest(
        session_id=session_id,
        **as_caller(body.model_dump(), key),
        **turns.call(how),
    )
    return await turns.answer(
        lambda on_event, tokens: writer.revise(job, on_event=on_event, tokens=tokens),
        how,
        job.owner,
    )


OUTLINE_ERRORS = {
    **WRITE_ERRORS,
    404: {"model": ErrorBody, "description": "`unknown_session`: no such session for this user."},
    409: {
        "model": ErrorBody,
        "description": "`no_outline`: no outline of the session awaits approval; "
        "`session_busy`: a turn of it is still running.",
    },
    410: {"model": ErrorBody, "description": "`outline_expired`: it waited too long."},
}


@router.post(
    "/sessions/{session_id}/outline",
    response_model=WriteResponse,
    responses={**OUTLINE_ERRORS, 200: turns.STREAM_DOC},
)
async def approve_outline(
    session_id: SessionId,
    body: OutlineBody,
    writer: WriterDep,
    how: turns.AnsweringDep,
    key: CallerDep,
) -> turns.Answer:
    """Goes on with a write paused by `review_outline`: `{"approve": true}` keeps the outline,
    `{"outline": {...}}` replaces it. Research, drafting and review then run in a new trace of
    the session (its metadata `session.continues` names the paused one); answered like
    `/write`."""
    job = OutlineRequest(
        session_id=session_id,
        outline=body.outline,
        **as_caller({"user_id": body.user_id, "prompt_alias": body.prompt_alias}, key),
        **turns.call(how),
    )
    return await turns.answer(
        lambda on_event, tokens: writer.approve_outline(job, on_event=on_event, tokens=tokens),
        how,
        job.owner,
    )


@router.get("/sessions/{session_id}", response_model=SessionOut, responses=ERRORS)
async def get_session(session_id: SessionId, writer: WriterDep, owner: OwnerDep) -> SessionOut:
    """The session's turns, oldest first (instruction, title, words, trace id, time), and its
    current article."""
    try:
        view = await writer.session(session_id, owner)
    except UnknownSession:
        raise WriteFailed("unknown_session", None) from None
    return SessionOut(**view.record.model_dump(), article=view.article)


@router.delete("/sessions/{session_id}", status_code=204, responses=ERRORS)
async def delete_session(session_id: SessionId, writer: WriterDep, owner: OwnerDep) -> Response:
    """Forgets the session: its turns and its checkpoints. Its traces stay in MLflow."""
    try:
        await writer.forget(session_id, owner)
    except UnknownSession:
        raise WriteFailed("unknown_session", None) from None
    return Response(status_code=204)
