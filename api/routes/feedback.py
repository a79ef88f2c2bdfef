"""POST /feedback and GET /traces/{trace_id}/feedback: readers' ratings, beside the trace."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path

from api.deps import SettingsDep
from api.schemas import ErrorBody, FeedbackBody, FeedbackOut, FeedbackStored
from service import feedback
from service.request import TRACE_ID_PATTERN

router = APIRouter(tags=["feedback"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No trace has that id, after waiting for it."},
    422: {"model": ErrorBody, "description": "Invalid feedback."},
    503: {"model": ErrorBody, "description": "The tracking server cannot be reached."},
}


@router.post("/feedback", response_model=FeedbackStored, status_code=201, responses=ERRORS)
async def give_feedback(body: FeedbackBody, settings: SettingsDep) -> FeedbackStored:
    """Rates the article of a trace: `value` is `"up"`/`"down"` or a number from 1 to 5.

    A user's second rating of the same kind on the same trace replaces the first. A trace not
    stored yet (its article has only just arrived) is waited for, FEEDBACK_WAIT_SECONDS at most.
    """
    value: bool | int = body.value == "up" if isinstance(body.value, str) else body.value
    rating = feedback.Rating(body.trace_id, body.user_id, value, body.comment)
    stored = await asyncio.to_thread(feedback.record, rating, settings.feedback_wait_seconds)
    return FeedbackStored(
        assessment_id=stored.assessment_id,
        trace_id=body.trace_id,
        name=rating.name,
        value=value,
        overrides=stored.overrides,
    )


@router.get("/traces/{trace_id}/feedback", response_model=list[FeedbackOut], responses=ERRORS)
async def list_feedback(
    trace_id: Annotated[str, Path(pattern=TRACE_ID_PATTERN)],
    settings: SettingsDep,
) -> list[dict[str, Any]]:
    """Every assessment on the trace (readers', judges'), current ones first."""
    return await asyncio.to_thread(feedback.listing, trace_id, settings.feedback_wait_seconds)
