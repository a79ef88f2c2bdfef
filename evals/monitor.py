"""Online monitoring: MLflow judges that the tracking server runs on new traces by itself.

Scheduled scorers run in a `mlflow server` with a SQL backend and its job runner, and only
with judges whose model is an AI Gateway endpoint (`gateway:/<name>`); code scorers are refused
(mlflow.md trap 8). `start` registers and starts them where that holds, and otherwise says why.
"""

from __future__ import annotations

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.genai.scorers import RelevanceToQuery, Safety, ScorerSamplingConfig

from agent.settings import Settings


def start(settings: Settings, endpoint: str | None, sample_rate: float) -> tuple[bool, str]:
    """Registers and starts the online judges; (started, what happened or why not)."""
    if not settings.mlflow_tracking_uri.startswith(("http://", "https://")):
        return False, (
            "Scheduled scorers run inside an MLflow tracking server; MLFLOW_TRACKING_URI is "
            f"{settings.mlflow_tracking_uri}. Start one (`make run`) and point at it."
        )
    if not endpoint:
        return False, (
            "Scheduled judges need an AI Gateway endpoint for their model. Create one in the "
            "MLflow UI (AI Gateway > Create endpoint, with your provider's key), then run "
            "`writer monitor --endpoint <name>`."
        )
    model = f"gateway:/{endpoint}"
    experiment = mlflow.set_experiment(settings.mlflow_experiment_name)
    started = []
    try:
        for judge in (Safety(model=model), RelevanceToQuery(model=model)):
            name = f"online_{judge.name}"
            registered = judge.register(name=name, experiment_id=experiment.experiment_id)
            registered.start(
                experiment_id=experiment.experiment_id,
                sampling_config=ScorerSamplingConfig(sample_rate=sample_rate),
            )
            started.append(name)
    except MlflowException as exc:
        return False, f"The tracking server refused the scheduled judges: {exc.message}"
    return True, (
        f"Started {', '.join(started)} on experiment {experiment.name!r} at sample rate "
        f"{sample_rate:g}. They score traces older than about five minutes; results appear as "
        "assessments on each trace."
    )
