"""Dual export, for real: the same spans reach MLflow and the team's OTLP backend, here a second
MLflow server taking OTLP/HTTP at /v1/traces. The primary keeps everything MLflow adds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pytest

from service import tracking_server
from testbed.servers import Server, free_port, start_traced_api, wait_for_trace


@pytest.fixture(scope="module")
def otlp_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A second tracking server and the experiment its OTLP endpoint files spans under."""
    port = free_port()
    process = tracking_server.start(port, Path(tmp_path_factory.mktemp("otlp")), jobs=False)
    url = f"http://127.0.0.1:{port}"
    try:
        tracking_server.wait_until_healthy(url, process, timeout_s=120)
        experiment = mlflow.MlflowClient(url).create_experiment("from-otlp")
        yield url, experiment
    finally:
        tracking_server.stop(process)


@pytest.fixture(scope="module")
def dual_api(
    mlflow_url: str,
    synced_prompts: str,
    otlp_backend: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    backend, experiment = otlp_backend
    server = start_traced_api(
        Path(tmp_path_factory.mktemp("dual")),
        mlflow_url,
        "tests",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"{backend}/v1/traces",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS=f"x-mlflow-experiment-id={experiment}",
    )
    yield server
    server.stop()


def test_both_backends_hold_the_articles_spans_under_one_trace_id(
    dual_api: Server, mlflow_url: str, otlp_backend: tuple[str, str]
) -> None:
    body = {"topic": "Coral reefs", "user_id": "ada", "session_id": "s-dual"}
    answer = httpx.post(f"{dual_api.url}/write", json=body, timeout=120)
    assert answer.status_code == 200, answer.text
    trace_id = answer.json()["trace_id"]
    primary = wait_for_trace(mlflow_url, trace_id)
    # The primary still has what MLflow adds beyond spans.
    assert primary.info.trace_metadata["mlflow.trace.user"] == "ada"
    assert primary.info.trace_metadata["mlflow.trace.session"] == "s-dual"
    assert primary.info.request_preview == "Coral reefs"
    assert primary.info.response_preview
    assert primary.info.tags["prompt.alias"] == "production"

    backend, _ = otlp_backend
    deadline = time.monotonic() + 60
    copy = None
    while time.monotonic() < deadline:
        try:
            copy = mlflow.MlflowClient(backend).get_trace(trace_id)
            if len(copy.data.spans) >= len(primary.data.spans):
                break
        except mlflow.exceptions.MlflowException:
            pass
        time.sleep(1)
    assert copy is not None, "the OTLP backend never got the trace"
    assert {s.span_id for s in copy.data.spans} == {s.span_id for s in primary.data.spans}
    assert {s.name for s in copy.data.spans} == {s.name for s in primary.data.spans}
