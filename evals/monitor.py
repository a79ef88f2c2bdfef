"""Online monitoring: MLflow judges that the tracking server runs on new traces by itself.

Scheduled scorers run in a `mlflow server` with a SQL backend and its job runner, and only
with judges whose model is an AI Gateway endpoint (`gateway:/<name>`); code scorers are refused
at `start`. `start` registers and starts them where that holds, and otherwise says why.

What the server then does (mlflow 3.17): once a minute its job runner samples the experiment's
traces that started more than a buffer ago and at most an hour ago, and logs each judge's
verdict on the trace as an assessment named after the registered judge (`online_safety`...).
The buffer is the server's setting
MLFLOW_ONLINE_SCORING_DEFAULT_TRACE_COMPLETION_BUFFER_SECONDS (300 by default).
Starting again registers a new version of each judge, with the new sample rate.
"""

from __future__ import annotations

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.genai.scorers import RelevanceToQuery, Safety, ScorerSamplingConfig

from evals.settings import EvalSettings
from tracing import internals

CREATE_ENDPOINT = (
    "Create one in the MLflow UI (AI Gateway: an API key for your provider, then an endpoint "
    "that uses it); a provider on loopback or a private network, over http, needs the server "
    "started with MLFLOW_GATEWAY_API_BASE_ALLOW_PRIVATE_IPS=true and "
    "MLFLOW_GATEWAY_API_BASE_ALLOWED_SCHEMES=http,https."
)


def start(settings: EvalSettings, endpoint: str | None, sample_rate: float) -> tuple[bool, str]:
    """Registers and starts the online judges; (started, what happened or why not)."""
    if not settings.mlflow_tracking_uri.startswith(("http://", "https://")):
        return False, (
            "Scheduled scorers run inside an MLflow tracking server; MLFLOW_TRACKING_URI is "
            f"{settings.mlflow_tracking_uri}. Start one (`make run`) and point at it."
        )
    if not endpoint:
        return False, (
            f"Scheduled judges need an AI Gateway endpoint for their model. {CREATE_ENDPOINT} "
            "Then run `writer monitor --endpoint <name>`."
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
        partly = f" ({', '.join(started)} did start)" if started else ""
        if internals.is_missing_gateway_endpoint(exc.error_code, exc.message):
            return False, (
                f"The tracking server has no AI Gateway endpoint {endpoint!r}{partly}. "
                f"{CREATE_ENDPOINT}"
            )
        return False, f"The tracking server refused the scheduled judges{partly}: {exc.message}"
    return True, (
        f"Started {', '.join(started)} on experiment {experiment.name!r} at sample rate "
        f"{sample_rate:g}. Once a minute the server's job runner scores that share of the "
        "traces that started more than five minutes ago (its "
        "MLFLOW_ONLINE_SCORING_DEFAULT_TRACE_COMPLETION_BUFFER_SECONDS) and less than an hour "
        "ago; each verdict appears on its trace as an assessment named after the judge. "
        "A server started with MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false never runs them."
    )
