"""One evaluation run: the golden set through the app, scored, logged, checked against bars."""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import yaml

from evals.judges import judges
from evals.predict import predictor
from evals.scorers import CODE_SCORERS
from evals.settings import EvalSettings

if TYPE_CHECKING:
    from mlflow.genai.datasets import EvaluationDataset

HERE = Path(__file__).parent
GOLDEN = HERE / "golden.yaml"
THRESHOLDS = HERE / "thresholds.yaml"
DATASET_NAME = "article-writer-golden"
log = logging.getLogger(__name__)


def load_cases(path: Path = GOLDEN, limit: int | None = None) -> list[dict[str, Any]]:
    cases = yaml.safe_load(path.read_text())
    records = [{"inputs": c["inputs"], "expectations": c["expectations"]} for c in cases]
    return records[:limit] if limit else records


def dataset_name(path: Path = GOLDEN, limit: int | None = None) -> str:
    """The evaluation dataset a set of cases is registered as: one per file and subset.

    A run links to the dataset it evaluated, so `--limit 3` gets a dataset of its three cases
    rather than evaluating, or claiming, the whole golden set.
    """
    name = DATASET_NAME if path.resolve() == GOLDEN.resolve() else f"article-writer-{path.stem}"
    return f"{name}-first-{limit}" if limit else name


def _key(inputs: Any) -> str:
    return json.dumps(inputs, sort_keys=True)


def register_dataset(
    records: list[dict[str, Any]], experiment_id: str, name: str = DATASET_NAME
) -> EvaluationDataset | None:
    """The cases as an MLflow evaluation dataset holding exactly them (a SQL-backed store).

    Records are matched on their inputs: a case whose expectations changed is updated, one no
    longer in the file is deleted. None, with a warning, where the store cannot hold datasets.
    """
    from mlflow.genai import datasets

    try:
        found = datasets.search_datasets(filter_string=f"name = '{name}'")
        dataset = found[0] if found else datasets.create_dataset(name, experiment_id=experiment_id)
        if experiment_id not in dataset.experiment_ids:
            dataset = datasets.add_dataset_to_experiments(dataset.dataset_id, [experiment_id])
        dataset.merge_records(records)
        wanted = {_key(r["inputs"]) for r in records}
        held = dataset.to_df()
        stale = [
            row.dataset_record_id for row in held.itertuples() if _key(row.inputs) not in wanted
        ]
        if stale:
            dataset.delete_records(stale)
        return dataset
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
    dataset_id: str | None  # the registered dataset the run evaluated; None: plain records
    dataset_name: str | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def evaluate(
    settings: EvalSettings,
    records: list[dict[str, Any]],
    thresholds: Path,
    *,
    dataset: str = DATASET_NAME,
    model_id: str | None = None,
    scorers: list[Any] | None = None,
    predict: Any = None,
) -> Outcome:
    """Runs `records` through the app and the scorers, as one MLflow run, checked on bars.

    The run evaluates the registered dataset `dataset` where the store holds datasets, so the
    run page links to it; elsewhere the plain records. `model_id` names the LoggedModel the
    run's traces and metrics belong to. `scorers` and `predict`: the golden set's code scorers
    and LLM judges, and one article per row, unless given.
    """
    # MLflow's own setting: rows evaluated at once. Its default (10) on a small machine turns
    # latency scores into a measure of contention.
    os.environ["MLFLOW_GENAI_EVAL_MAX_WORKERS"] = str(settings.eval_max_workers)
    experiment = mlflow.set_experiment(settings.mlflow_experiment_name)
    registered = register_dataset(records, experiment.experiment_id, dataset)
    skipped = None
    if scorers is None:
        llm_judges, skipped = judges(settings)
        scorers = [*CODE_SCORERS, *llm_judges]
    result = mlflow.genai.evaluate(
        data=registered if registered is not None else records,
        scorers=scorers,
        predict_fn=predict or predictor(settings),
        model_id=model_id,
    )
    metrics = {k: float(v) for k, v in result.metrics.items()}
    bars = yaml.safe_load(thresholds.read_text()) or {}
    linked = (str(registered.dataset_id), dataset) if registered is not None else (None, None)
    return Outcome(result.run_id, metrics, check(metrics, bars), skipped, *linked)
