"""One evaluation run beside an earlier one: per metric this, earlier, change, and regressions.

Metrics are MLflow's aggregates (`<scorer>/mean`). Most are shares of articles or of facts,
from 0 to 1, where higher is better: one regresses when it falls by more than `max_regression`
(absolute: 0.05 is five points). Latency and tokens are costs, lower is better, on scales of
their own: one regresses when it rises by more than `max_cost_increase` of the earlier value
(relative: 0.25 is a quarter more). A metric only one of the runs has is shown, not judged:
a new scorer is no regression, and one that is gone says so in the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mlflow
from mlflow.entities import Run
from mlflow.exceptions import MlflowException

COSTS = ("latency_seconds", "total_tokens")  # scorers whose metrics are lower-is-better
MAX_REGRESSION = 0.05
MAX_COST_INCREASE = 0.25


class UnknownRun(LookupError):
    """The earlier run is not in the tracking store."""


def earlier_run(run_id: str) -> Run:
    """The run to compare with, from the current tracking store."""
    try:
        return mlflow.MlflowClient().get_run(run_id)
    except MlflowException as exc:
        raise UnknownRun(
            f"no run {run_id!r} in the tracking store {mlflow.get_tracking_uri()} "
            f"({exc.message.splitlines()[0]})"
        ) from exc


def datasets(run: Run) -> list[str]:
    """The names of the datasets a run evaluated, as logged on its inputs."""
    inputs = run.inputs.dataset_inputs if run.inputs else []
    return sorted(d.dataset.name for d in inputs)


def lower_is_better(metric: str) -> bool:
    return metric.split("/", 1)[0] in COSTS


@dataclass(frozen=True)
class Change:
    metric: str
    this: float | None
    earlier: float | None
    regressed: bool

    @property
    def delta(self) -> float | None:
        if self.this is None or self.earlier is None:
            return None
        return self.this - self.earlier

    @property
    def verdict(self) -> str:
        if self.this is None:
            return "gone"
        if self.earlier is None:
            return "new"
        if self.regressed:
            return "REGRESSED"
        delta = self.delta or 0.0
        better = delta < 0 if lower_is_better(self.metric) else delta > 0
        return "better" if better and abs(delta) > 1e-9 else ""


def _measured(metrics: dict[str, float], metric: str) -> float | None:
    value = metrics.get(metric)
    return None if value is None or math.isnan(value) else value


def compare(
    this: dict[str, float],
    earlier: dict[str, float],
    max_regression: float = MAX_REGRESSION,
    max_cost_increase: float = MAX_COST_INCREASE,
) -> list[Change]:
    """Every metric of either run, and whether this run's value regressed past its bound."""
    changes = []
    for metric in sorted(set(this) | set(earlier)):
        now, before = _measured(this, metric), _measured(earlier, metric)
        regressed = False
        if now is not None and before is not None:
            if lower_is_better(metric):
                # Rounded: a rise of exactly the bound is within it, whatever floats make of it.
                regressed = round(now - before, 9) > max_cost_increase * abs(before)
            else:
                regressed = round(before - now, 9) > max_regression
        changes.append(Change(metric, now, before, regressed))
    return changes


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _change(change: Change) -> str:
    delta = change.delta
    if delta is None:
        return "-"
    if lower_is_better(change.metric):  # costs change by a share of what they were
        return f"{delta / change.earlier:+.0%}" if change.earlier else f"{delta:+.3f}"
    return f"{delta:+.3f}"


def table(changes: list[Change]) -> list[str]:
    """The comparison as lines for a terminal: metric, this, earlier, change, verdict."""
    lines = [f"{'metric':<32} {'this':>10} {'earlier':>10} {'change':>8}  verdict"]
    for c in changes:
        lines.append(
            f"{c.metric:<32} {_number(c.this):>10} {_number(c.earlier):>10} "
            f"{_change(c):>8}  {c.verdict}".rstrip()
        )
    return lines
