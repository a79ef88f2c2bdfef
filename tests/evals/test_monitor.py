"""`writer monitor` for real: an MLflow server with a SQL backend and its job runner, an AI
Gateway endpoint whose provider is the offline model, and the judges it schedules.

Nothing is stubbed. Only the test's server is told (GATEWAY_SERVER_ENV) that the gateway may
call an `http://` loopback provider and that a trace needs no five-minute wait before it is
scored.
The offline model answers judges with a word-overlap check that says it is one, or "unknown"
(offline_model/judging.py `judge`).

Seeing a judge score a trace by itself waits for the server's job runner, which starts seven
Python processes (1 to 2.5 minutes after the server on two busy cores), and for its scheduler,
which runs when that is done and then once a minute (a fixed crontab in mlflow/server/jobs/
utils.py): that test takes one to three minutes.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow.entities import AssessmentSourceType, Feedback
from mlflow.genai.scorers import (
    Correctness,
    ExpectationsGuidelines,
    RelevanceToQuery,
    Safety,
    list_scorers,
)

from cli.settings import Settings
from evals.judges import judges
from testbed.servers import (
    Server,
    create_gateway_endpoint,
    gateway_server,
    wait_for_trace,
    writer_cli,
)

ENDPOINT = "offline-judge"
EXPERIMENT = "monitored"
JUDGES = ("online_safety", "online_relevance_to_query")


@contextlib.contextmanager
def tracking(url: str) -> Iterator[None]:
    """This process's MLflow pointed at `url` for a while (fluent APIs and judges use it)."""
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(url)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


@dataclass
class Judging:
    mlflow_url: str
    workdir: Path
    model: Server


@pytest.fixture(scope="module")
def judging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Judging]:
    """A tracking server with its job runner, and a gateway endpoint on the offline model."""
    work = tmp_path_factory.mktemp("monitor")
    with gateway_server(work, jobs=True) as (url, model):
        create_gateway_endpoint(url, ENDPOINT, model, "offline-writer")
        yield Judging(url, work, model)


def cli_env(judging: Judging) -> dict[str, str]:
    return {"MLFLOW_TRACKING_URI": judging.mlflow_url, "MLFLOW_EXPERIMENT_NAME": EXPERIMENT}


@pytest.fixture(scope="module")
def monitored(judging: Judging) -> subprocess.CompletedProcess[str]:
    """`writer monitor --endpoint` run once against the server, every trace sampled."""
    return writer_cli(
        "monitor",
        "--endpoint",
        ENDPOINT,
        "--sample-rate",
        "1",
        cwd=judging.workdir,
        **cli_env(judging),
    )


def test_the_endpoint_serves_mlflow_judges_from_the_offline_model(judging: Judging) -> None:
    """The path a scheduled judge takes: judge -> gateway -> offline model, and back parsed."""
    model = f"gateway:/{ENDPOINT}"
    with tracking(judging.mlflow_url):
        relevance = RelevanceToQuery(model=model)(
            inputs={"topic": "How honeybees pollinate crops"},
            outputs={"title": "How Honeybees Pollinate Crops", "word_count": 310},
        )
        safety = Safety(model=model)(outputs="Honeybees carry pollen between flowers.")
    assert relevance.value == "yes" and relevance.error is None
    assert "honeybees" in (relevance.rationale or "")
    assert relevance.source.source_id == model
    assert safety.value == "unknown" and "cannot judge" in (safety.rationale or "")
    served = httpx.get(f"{judging.model.url}/admin/stats", timeout=10).json()
    assert served["completions"] >= 2


def test_a_gateway_judge_model_gets_mlflows_own_judges_fact_checking_included(
    judging: Judging,
) -> None:
    """`writer eval` with JUDGE_MODEL=gateway:/...: MLflow's built-in judges, Correctness on
    the case's expected facts among them, reach the model through the gateway alone."""
    before = dict(os.environ)
    found, skipped = judges(Settings(_env_file=None, judge_model=f"gateway:/{ENDPOINT}"))
    assert skipped is None and dict(os.environ) == before
    by_name = {j.name: j for j in found}
    assert isinstance(by_name["correctness"], Correctness)
    assert isinstance(by_name["expectations_guidelines"], ExpectationsGuidelines)
    calls = httpx.get(f"{judging.model.url}/admin/stats", timeout=10).json()["completions"]
    with tracking(judging.mlflow_url):
        verdict = by_name["correctness"](
            inputs={"topic": "Honeybees"},
            outputs="Honeybees carry pollen between flowers.",
            expectations={"expected_facts": ["Honeybees carry pollen."]},
        )
    # The offline model cannot check facts, and says so rather than inventing a verdict.
    assert verdict.error is None and verdict.value == "unknown", verdict.rationale
    served = httpx.get(f"{judging.model.url}/admin/stats", timeout=10).json()["completions"]
    assert served == calls + 1


def test_monitor_registers_and_starts_the_judges(
    judging: Judging, monitored: subprocess.CompletedProcess[str]
) -> None:
    assert monitored.returncode == 0, monitored.stdout + monitored.stderr
    assert f"Started {', '.join(JUDGES)} on experiment {EXPERIMENT!r}" in monitored.stdout
    assert "at sample rate 1." in monitored.stdout

    with tracking(judging.mlflow_url):
        experiment = mlflow.get_experiment_by_name(EXPERIMENT)
        assert experiment is not None
        found = {s.name: s for s in list_scorers(experiment_id=experiment.experiment_id)}
    assert set(JUDGES) <= set(found), sorted(found)
    for name in JUDGES:
        assert found[name].sample_rate == 1.0
        assert found[name].status.name == "STARTED"
        assert getattr(found[name], "model", None) == f"gateway:/{ENDPOINT}"


def test_monitor_names_an_endpoint_the_server_does_not_have(judging: Judging) -> None:
    done = writer_cli(
        "monitor",
        "--endpoint",
        "no-such-endpoint",
        cwd=judging.workdir,
        MLFLOW_TRACKING_URI=judging.mlflow_url,
        MLFLOW_EXPERIMENT_NAME="no-endpoint",
    )
    assert done.returncode == 2
    assert "has no AI Gateway endpoint 'no-such-endpoint'" in done.stderr
    assert "MLFLOW_GATEWAY_API_BASE_ALLOW_PRIVATE_IPS" in done.stderr


def llm_verdicts(mlflow_url: str, trace_id: str) -> dict[str, Feedback]:
    trace = mlflow.MlflowClient(tracking_uri=mlflow_url).get_trace(trace_id)
    return {
        a.name: a
        for a in trace.info.assessments
        if isinstance(a, Feedback) and a.source.source_type == AssessmentSourceType.LLM_JUDGE
    }


@pytest.mark.timeout(600)
def test_the_started_judges_score_a_new_article_by_themselves(
    judging: Judging, monitored: subprocess.CompletedProcess[str]
) -> None:
    assert monitored.returncode == 0, monitored.stderr
    wrote = writer_cli(
        "write",
        "How honeybees pollinate crops",
        "--words",
        "300",
        "--json",
        cwd=judging.workdir,
        **cli_env(judging),
    )
    assert wrote.returncode == 0, wrote.stderr[-3000:]
    trace_id = json.loads(wrote.stdout)["trace_id"]
    wait_for_trace(judging.mlflow_url, trace_id)

    started = time.monotonic()
    verdicts: dict[str, Feedback] = {}
    while time.monotonic() - started < 300:
        verdicts = llm_verdicts(judging.mlflow_url, trace_id)
        if set(JUDGES) <= set(verdicts):
            break
        time.sleep(2)
    waited = time.monotonic() - started
    assert set(JUDGES) <= set(verdicts), f"after {waited:.0f} s: {sorted(verdicts)}"

    relevance = verdicts["online_relevance_to_query"]
    # The root span's inputs (the request) against its outputs (title, word count...).
    assert relevance.value == "yes", relevance.rationale
    assert "honeybees" in (relevance.rationale or "")
    assert "not a model's judgement" in (relevance.rationale or "")
    assert relevance.source.source_id == f"gateway:/{ENDPOINT}"
    # The offline model cannot judge safety, and says so instead of inventing a verdict.
    safety = verdicts["online_safety"]
    assert safety.value == "unknown" and safety.error is None, safety.rationale
