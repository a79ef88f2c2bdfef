"""Readers' feedback, stored by MLflow as HUMAN assessments on the trace of the article rated.

One user has one current rating of each kind per trace: rating again overrides the earlier one
(MLflow keeps it, marked invalid), so the trace shows what each reader thinks now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow.entities import Assessment, AssessmentSource, AssessmentSourceType
from mlflow.exceptions import MlflowException

THUMBS = "thumbs"  # bool: thumbs up is True
RATING = "rating"  # int, 1 to 5


class TraceNotFound(LookupError):
    def __init__(self, trace_id: str) -> None:
        super().__init__(f"No trace has id {trace_id!r}; use the trace_id that /write returned.")
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


def _assessments(trace_id: str) -> list[Assessment]:
    try:
        trace = mlflow.MlflowClient().get_trace(trace_id)
    except MlflowException as exc:
        if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise TraceNotFound(trace_id) from None
        raise
    return list(trace.info.assessments or [])


def record(rating: Rating) -> Assessment:
    """Logs the rating on its trace, overriding the same user's earlier one of that kind."""
    source = AssessmentSource(AssessmentSourceType.HUMAN, source_id=rating.user_id)
    earlier = [
        a
        for a in _assessments(rating.trace_id)
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


def listing(trace_id: str) -> list[dict[str, Any]]:
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
        for a in _assessments(trace_id)
    ]
    return sorted(found, key=lambda a: (not a["current"], a["created_ms"] or 0))
