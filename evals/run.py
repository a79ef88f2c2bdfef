"""One evaluation run: the golden set through the app, scored, logged, checked against bars."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import yaml

from agent.settings import Settings
from evals.judges import judges
from evals.predict import predictor
from evals.scorers import CODE_SCORERS

HERE = Path(__file__).parent
GOLDEN = HERE / "golden.yaml"
THRESHOLDS = HERE / "thresholds.yaml"
DATASET_NAME = "article-writer-golden"
log = logging.getLogger(__name__)


def load_cases(path: Path = GOLDEN, limit: int | None = None) -> list[dict[str, Any]]:
    cases = yaml.safe_load(path.read_text())
    records = [{"inputs": c["inputs"], "expectations": c["expectations"]} for c in cases]
    return records[:limit] if limit else records


def register_dataset(records: list[dict[str, Any]], experiment_id: str) -> str | None:
    """The golden set as an MLflow evaluation dataset (needs a SQL-backed store)."""
    from mlflow.genai import datasets

    try:
        found = datasets.search_datasets(filter_string=f"name = '{DATASET_NAME}'")
        dataset = (
            found[0]
            if found
            else datasets.create_dataset(name=DATASET_NAME, experiment_id=experiment_id)
        )
        dataset.merge_records(records)
        return str(dataset.dataset_id)
    except Exception as exc:  # a store without datasets still evaluates
        log.warning("could not register the evaluation dataset: %s", exc)
        return None


@dataclass(frozen=True)
class Check:
    metric: str
    value: float | None
    bound: str
    passed: bool


def check(metrics: dict[str, float], thresholds: dict[str, dict[str, float]]) -> list[Check]:
    checks = []
    for metric, bounds in thresholds.items():
        value = metrics.get(metric)
        ok = value is not None and not math.isnan(value)
        if "min" in bounds:
            passed, bound = ok and value >= bounds["min"], f">= {bounds['min']:g}"  # type: ignore[operator]
        else:
            passed, bound = ok and value <= bounds["max"], f"<= {bounds['max']:g}"  # type: ignore[operator]
        checks.append(Check(metric, value, bound, bool(passed)))
    return checks


@dataclass(frozen=True)
class Outcome:
    run_id: str
    metrics: dict[str, float]
    checks: list[Check]
    skipped: str | None
    dataset_id: str | None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def evaluate(settings: Settings, records: list[dict[str, Any]], thresholds: Path) -> Outcome:
    # MLflow's own setting: rows evaluated at once. Its default (10) on a small machine turns
    # latency scores into a measure of contention.
    os.environ["MLFLOW_GENAI_EVAL_MAX_WORKERS"] = str(settings.eval_max_workers)
    experiment = mlflow.set_experiment(settings.mlflow_experiment_name)
    dataset_id = register_dataset(records, experiment.experiment_id)
    llm_judges, skipped = judges(settings)
    result = mlflow.genai.evaluate(
        data=records, scorers=[*CODE_SCORERS, *llm_judges], predict_fn=predictor(settings)
    )
    metrics = {k: float(v) for k, v in result.metrics.items()}
    bars = yaml.safe_load(thresholds.read_text()) or {}
    return Outcome(result.run_id, metrics, check(metrics, bars), skipped, dataset_id)
