"""GET /analytics/tools: how the agent spends its time, per tool, node and article, from MLflow's
trace metrics over a window (`service.analytics`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from mlflow.exceptions import MlflowException

from api.deps import SettingsDep, TrackingDep
from api.errors import BadParameter
from api.schemas import ToolAnalytics
from api.status import SEARCH_ERRORS
from service import analytics, trace_search

router = APIRouter(tags=["traces"])


@router.get("/analytics/tools", response_model=ToolAnalytics, responses=SEARCH_ERRORS)
async def tool_analytics(
    tracking: TrackingDep,
    settings: SettingsDep,
    since: Annotated[str | None, Query(max_length=40, description="15m, 1h, 7d or ISO")] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
) -> ToolAnalytics:
    """Per tool: calls, error rate, p50 and p95 duration. Per graph node: runs, p50 and p95, and
    its share of the runs' time. Per article: tokens and duration, p50 and p95. Over `since` to
    `until` (the last 7 days by default, at most 31), computed by the tracking server."""
    now = dt.datetime.now(dt.UTC)
    try:
        start, end = trace_search.window_of(since, until, now)
    except trace_search.BadSearch as exc:
        raise BadParameter(str(exc)) from None
    if not await tracking.check() or tracking.experiment_id is None:
        raise MlflowException("the tracking server is unreachable")
    window = analytics.Window(settings.mlflow_tracking_uri, tracking.experiment_id, start, end)
    return ToolAnalytics(**await asyncio.to_thread(analytics.report, window))
