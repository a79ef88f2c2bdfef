"""This app's traces, found for people and scripts: `GET /traces`, `writer traces`.

The filter is composed here from validated parameters, never from a caller's text: ids must
match the id rule, statuses are a fixed set, times are numbers, and the free text `q` keeps only
letters, digits and a little punctuation before it is quoted, so nothing a caller writes can
change the query's meaning. The cost is bounded: at most MAX_LIMIT traces a page, spans never
read, and a window of at most MAX_WINDOW.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from mlflow import MlflowClient
from mlflow.entities import Trace
from mlflow.tracing.constant import TraceMetadataKey

Status = Literal["OK", "ERROR", "IN_PROGRESS"]
MAX_LIMIT = 100
DEFAULT_WINDOW = dt.timedelta(days=7)
MAX_WINDOW = dt.timedelta(days=31)
DURATION = re.compile(r"^(\d{1,4})([mhd])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# Everything but letters, digits, spaces and . , : @ -: quotes, backticks, and LIKE's own
# wildcards (% and _) would change the query.
SAFE_TEXT = re.compile(r"[^\w\s.,:@-]|_")


class BadSearch(ValueError):
    """A parameter that cannot make a search; the message names it and what to send."""


@dataclass(frozen=True)
class Search:
    user_id: str | None = None
    session_id: str | None = None
    status: Status | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    q: str | None = None
    limit: int = 20
    page_token: str | None = None


def when(value: str, now: dt.datetime) -> dt.datetime:
    """`15m`, `1h`, `7d` ago, or an ISO 8601 time (UTC unless it says otherwise)."""
    if found := DURATION.match(value):
        return now - dt.timedelta(**{UNITS[found.group(2)]: int(found.group(1))})
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadSearch(f"{value!r}: send a time as 15m, 1h or 7d ago, or ISO 8601") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def window(
    since: dt.datetime | None, until: dt.datetime | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """The times a search covers: `until` (default now) back to `since` (default 7 days
    before), at most MAX_WINDOW; BadSearch if they cannot make one."""
    until = until or now
    since = since or until - DEFAULT_WINDOW
    if since >= until:
        raise BadSearch("since must be before until")
    if until - since > MAX_WINDOW:
        raise BadSearch(f"the window is at most {MAX_WINDOW.days} days: narrow since/until")
    return since, until


def window_of(
    since: str | None, until: str | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    """`window` from a caller's `since` and `until` as written (`when`)."""
    return window(when(since, now) if since else None, when(until, now) if until else None, now)


def filter_string(search: Search, now: dt.datetime) -> str:
    """The MLflow filter for `search`, from validated parts only."""
    since, until = window(search.since, search.until, now)
    parts = [
        f"trace.timestamp_ms >= {int(since.timestamp() * 1000)}",
        f"trace.timestamp_ms < {int(until.timestamp() * 1000)}",
    ]
    # Ids and statuses are validated before they get here (ID_PATTERN has no quote).
    if search.user_id:
        parts.append(f"metadata.`{TraceMetadataKey.TRACE_USER}` = '{search.user_id}'")
    if search.session_id:
        parts.append(f"metadata.`{TraceMetadataKey.TRACE_SESSION}` = '{search.session_id}'")
    if search.status:
        parts.append(f"trace.status = '{search.status}'")
    if text := searchable(search.q):
        parts.append(f"trace.text ILIKE '%{text}%'")
    return " AND ".join(parts)


def searchable(q: str | None) -> str:
    return " ".join(SAFE_TEXT.sub(" ", q or "").split())


def search(
    client: MlflowClient, experiment_id: str, wanted: Search, now: dt.datetime | None = None
) -> tuple[list[Trace], str | None]:
    """A page of the experiment's traces, newest first, and the token of the next page."""
    if wanted.q and not searchable(wanted.q):
        return [], None  # text with nothing in it a trace could hold: no trace has it
    found = client.search_traces(
        locations=[experiment_id],
        filter_string=filter_string(wanted, now or dt.datetime.now(dt.UTC)),
        max_results=min(wanted.limit, MAX_LIMIT),
        order_by=["timestamp_ms DESC"],
        page_token=wanted.page_token,
        include_spans=False,
    )
    return list(found), found.token


def summary(trace: Trace) -> dict[str, Any]:
    """What a list of traces shows of one: who, when, how it ended, what it was about."""
    info = trace.info
    metadata = info.trace_metadata or {}
    usage = info.token_usage or {}
    return {
        "trace_id": info.trace_id,
        "time": dt.datetime.fromtimestamp(info.request_time / 1000, dt.UTC).isoformat(
            timespec="seconds"
        ),
        "status": info.state.value,
        "duration_ms": info.execution_duration,
        "user_id": metadata.get(TraceMetadataKey.TRACE_USER),
        "session_id": metadata.get(TraceMetadataKey.TRACE_SESSION),
        "topic": info.request_preview,
        "title": info.response_preview,
        "outcome": info.tags.get("outcome"),
        "tokens": usage.get("total_tokens"),
    }
