"""GET /traces: this app's traces, newest first, filtered by user, session, status, time and
text (`service.trace_search`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from api.deps import SettingsDep, TrackingDep
from api.errors import BadParameter
from api.schemas import TracePage, TraceSummary
from api.status import SEARCH_ERRORS
from service import trace_search
from service.request import ID_PATTERN

router = APIRouter(tags=["traces"])


@router.get("/traces", response_model=TracePage, responses=SEARCH_ERRORS)
async def list_traces(
    tracking: TrackingDep,
    settings: SettingsDep,
    user_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    session_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    status: trace_search.Status | None = None,
    since: Annotated[str | None, Query(max_length=40, description="15m, 1h, 7d or ISO")] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=100, description="Text in the trace.")] = None,
    limit: Annotated[int, Query(ge=1, le=trace_search.MAX_LIMIT)] = 20,
    page_token: Annotated[str | None, Query(max_length=2000)] = None,
) -> TracePage:
    """The app's traces, newest first: at most `limit` a page, within 31 days (the last 7 when
    `since` is not given). Each names its user, session, topic, title, tokens and trace link."""
    now = dt.datetime.now(dt.UTC)
    try:
        wanted = trace_search.Search(
            user_id=user_id,
            session_id=session_id,
            status=status,
            since=trace_search.when(since, now) if since else None,
            until=trace_search.when(until, now) if until else None,
            q=q,
            limit=limit,
            page_token=page_token,
        )
        trace_search.filter_string(wanted, now)
    except trace_search.BadSearch as exc:
        raise BadParameter(str(exc)) from None
    if not await tracking.check() or tracking.experiment_id is None:
        raise MlflowException("the tracking server is unreachable")
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    try:
        found, token = await asyncio.to_thread(
            trace_search.search, client, tracking.experiment_id, wanted, now
        )
    except MlflowException:
        # The server refuses a token it did not issue in more than one way (a 400, or a 500
        # from a token that decodes to nonsense); if it still answers, the token was the fault.
        if page_token and await tracking.check():
            raise BadParameter("page_token: send one this endpoint returned") from None
        raise
    summaries = [
        TraceSummary(**trace_search.summary(t), trace_url=tracking.trace_url(t.info.trace_id))
        for t in found
    ]
    return TracePage(traces=summaries, next_page_token=token)
