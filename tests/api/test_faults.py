"""Failures inside: the provider fails, the tracking server is down. Requests end cleanly,
traces record what happened, and no internal text or secret reaches the client or the trace."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import (
    Server,
    free_port,
    provider_env,
    start_api,
    start_offline_model,
    start_traced_api,
    wait_for_trace,
)

SECRET = "sk-test-0123456789abcdefghijklmnop"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The offline model on its own port, as any OpenAI-compatible server would be."""
    server = start_offline_model(tmp_path_factory.mktemp("provider"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_over_http(
    provider: Server, mlflow_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    server = start_traced_api(
        tmp_path_factory.mktemp("api-http"),
        mlflow_url,
        "tests-faults",
        OPENAI_API_KEY=SECRET,
        LLM_MAX_RETRIES="2",
        **provider_env(provider),
    )
    yield server
    server.stop()


def plan_faults(provider: Server, statuses: list[int], persistent: bool = False) -> None:
    httpx.post(
        f"{provider.url}/admin/faults",
        json={"statuses": statuses, "persistent": persistent},
        timeout=5,
    ).raise_for_status()


def faults_served(provider: Server) -> int:
    return int(httpx.get(f"{provider.url}/admin/stats", timeout=5).json()["faults_served"])


def test_429_then_500_are_retried(api_over_http: Server, provider: Server, mlflow_url: str) -> None:
    before = faults_served(provider)
    plan_faults(provider, [429, 500])
    answer = httpx.post(f"{api_over_http.url}/write", json={"topic": "Wind power"}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert faults_served(provider) - before == 2
    body = answer.json()
    trace = wait_for_trace(mlflow_url, body["trace_id"])
    assert trace.info.state.value == "OK"
    assert trace.info.trace_metadata["llm.provider"] == "openai"
    assert body["cost_usd"] is None  # MLflow has no price for this model name


def test_a_provider_that_keeps_failing_gives_502_and_an_error_trace(
    api_over_http: Server, provider: Server, mlflow_url: str
) -> None:
    plan_faults(provider, [500], persistent=True)
    try:
        answer = httpx.post(f"{api_over_http.url}/write", json={"topic": "Wind power"}, timeout=60)
    finally:
        plan_faults(provider, [])
    assert answer.status_code == 502
    error = answer.json()
    assert error["error"] == "provider_error"
    assert "Try again later" in error["message"]
    assert "injected" not in answer.text and "Error code" not in answer.text
    assert answer.headers["X-Trace-Id"] == error["trace_id"]

    trace = wait_for_trace(mlflow_url, error["trace_id"])
    assert trace.info.state.value == "ERROR"
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.status.status_code.value == "ERROR"
    assert root.attributes["error.code"] == "provider_error"
    failed_chat = [
        s
        for s in trace.data.spans
        if s.span_type == "CHAT_MODEL" and s.status.status_code.value == "ERROR"
    ]
    assert failed_chat, "the failed model call is on the trace"


def test_the_api_key_never_reaches_a_trace(api_over_http: Server, mlflow_url: str) -> None:
    answer = httpx.post(f"{api_over_http.url}/write", json={"topic": "Grid storage"}, timeout=60)
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    assert SECRET not in trace.to_json()
    assert SECRET not in answer.text


def test_tracking_server_down_articles_still_served(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server = start_api(tmp_path_factory.mktemp("api-untracked"), MLFLOW_TRACKING_URI=dead)
    try:
        answer = httpx.post(f"{server.url}/write", json={"topic": "Coral reefs"}, timeout=60)
        assert answer.status_code == 200
        body = answer.json()
        assert body["article"]["references"]
        assert body["trace_url"] is None  # no experiment to link into
        ready = httpx.get(f"{server.url}/ready", timeout=10)
        assert ready.status_code == 200
        readiness = ready.json()
        assert readiness["status"] == "degraded"
        assert readiness["checks"]["tracking"]["ok"] is False
        assert f"tracking: tracking server {dead} is unreachable" in readiness["reasons"]
        assert readiness["checks"]["prompts"]["ok"] is False  # the registry is that server too
        assert all(p["version"] is None for p in body["prompts"])  # bundled files served
        assert "Traceback" not in json.dumps(readiness)
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
    finally:
        server.stop()
    assert server.process.returncode is not None
