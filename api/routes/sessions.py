"""GET and DELETE /sessions/{session_id}: a session's turns and current article."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from agent.failures import WriteFailed
from agent.request import ID_PATTERN
from agent.sessions import UnknownSession
from api.deps import WriterDep
from api.schemas import ErrorBody, SessionOut

router = APIRouter(tags=["sessions"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No session with that id for this user."},
    422: {"model": ErrorBody, "description": "A malformed session or user id."},
}
SessionId = Annotated[str, Path(pattern=ID_PATTERN)]
# Without API keys a session belongs to the user_id of its first turn, which every later call
# names; a session started without one is named by none.
UserId = Annotated[str | None, Query(pattern=ID_PATTERN, description="The session's owner.")]


@router.get("/sessions/{session_id}", response_model=SessionOut, responses=ERRORS)
async def get_session(
    session_id: SessionId, writer: WriterDep, user_id: UserId = None
) -> SessionOut:
    """The session's turns, oldest first (instruction, title, words, trace id, time), and its
    current article."""
    try:
        view = await writer.session(session_id, user_id)
    except UnknownSession:
        raise WriteFailed("unknown_session", None) from None
    return SessionOut(**view.record.model_dump(), article=view.article)


@router.delete("/sessions/{session_id}", status_code=204, responses=ERRORS)
async def delete_session(
    session_id: SessionId, writer: WriterDep, user_id: UserId = None
) -> Response:
    """Forgets the session: its turns and its checkpoints. Its traces stay in MLflow."""
    try:
        await writer.forget(session_id, user_id)
    except UnknownSession:
        raise WriteFailed("unknown_session", None) from None
    return Response(status_code=204)
