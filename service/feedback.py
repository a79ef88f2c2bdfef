"""Readers' feedback, stored by MLflow as HUMAN assessments on the trace of the article rated.

One user has one current rating of each kind per trace: rating again overrides the earlier one
(MLflow keeps it, marked invalid), so the trace shows what each reader thinks now.

A trace reaches the tracking server a moment after its article reaches the reader: MLflow
exports it in the background. A rating given at once must not lose that race, so every lookup
waits a bounded time for the trace to be stored, flushing this process's export queue first.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow.entities import Assessment, AssessmentSource, AssessmentSourceType
from mlflow.exceptions import MlflowException

THUMBS = "thumbs"  # bool: thumbs up is True
RATING = "rating"  # int, 1 to 5


POLL_SECONDS = 0.25


class TraceNotFound(LookupError):
    def __init__(self, trace_id: str, waited_s: float) -> None:
        super().__init__(
            f"No trace has id {trace_id!r} (waited {waited_s:g} s for it to be stored); "
            "use the trace_id that /write returned."
        )
        self.trace_id = trace_id


@dataclass(frozen=True)
class Rating:
    trace_id: str
    user_id: str
    value: bool | int
    comment: str | None = None

    @property
    def name(self) -> str:
        return THUMBS if isinstance(self.value, bool) else RATING


def _not_stored_yet(exc: MlflowException) -> bool:
    # The server answers RESOURCE_DOES_NOT_EXIST before the trace's info is written, and
    # BAD_REQUEST ("cannot be loaded") between its info and its spans. A server that does not
    # answer at all is INTERNAL_ERROR: that one is raised, as the tracking server being down.
    return exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "BAD_REQUEST")


def _assessments(trace_id: str, wait_s: float) -> list[Assessment]:
    """The trace's assessments, once the trace is stored; TraceNotFound after `wait_s`."""
    client = mlflow.MlflowClient()
    deadline = time.monotonic() + wait_s
    for attempt in itertools.count():
        try:
            # The second look flushes: if this process wrote the trace, it is in the export
            # queue, and writing it out beats waiting for its batch.
            trace = client.get_trace(trace_id, flush=attempt == 1)
            return list(trace.info.assessments or [])
        except MlflowException as exc:
            if not _not_stored_yet(exc):
                raise
        if time.monotonic() >= deadline:
            break
        if attempt:  # another process's trace, or one still on its way
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    raise TraceNotFound(trace_id, wait_s)


def record(rating: Rating, wait_s: float) -> Assessment:
    """Logs the rating on its trace, overriding the same user's earlier one of that kind."""
    source = AssessmentSource(AssessmentSourceType.HUMAN, source_id=rating.user_id)
    earlier = [
        a
        for a in _assessments(rating.trace_id, wait_s)
        if a.name == rating.name
        and a.valid is not False
        and a.source.source_type == AssessmentSourceType.HUMAN
        and a.source.source_id == rating.user_id
    ]
    if earlier and (previous := earlier[-1].assessment_id):
        return mlflow.override_feedback(
            trace_id=rating.trace_id,
            assessment_id=previous,
            value=rating.value,
            rationale=rating.comment,
            source=source,
        )
    return mlflow.log_feedback(
        trace_id=rating.trace_id,
        name=rating.name,
        value=rating.value,
        source=source,
        rationale=rating.comment,
    )


def listing(trace_id: str, wait_s: float) -> list[dict[str, Any]]:
    """Every assessment on the trace, human or not, current ones first."""
    found = [
        {
            "assessment_id": a.assessment_id,
            "name": a.name,
            "value": getattr(a, "value", None),  # Feedback and Expectation both carry one
            "source_type": str(a.source.source_type),
            "source_id": a.source.source_id,
            "comment": a.rationale,
            "current": a.valid is not False,
            "created_ms": a.create_time_ms,
        }
        for a in _assessments(trace_id, wait_s)
    ]
    return sorted(found, key=lambda a: (not a["current"], a["created_ms"] or 0))
