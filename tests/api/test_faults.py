"""Failures inside: the provider fails, the tracking server is down. Requests end cleanly,
traces record what happened, and no internal text or secret reaches the client or the trace."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from mlflow.entities import Trace

from service import tracking_server
from service.llm import PROVIDER_ERROR_EVENT
from testbed.servers import (
    Load,
    Server,
    free_port,
    provider_env,
    start_api,
    start_offline_model,
    start_traced_api,
    stored_traces,
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


def provider_errors(trace: Trace) -> list[dict]:
    """The failed attempts at the provider that the trace recorded, with the span they are on."""
    return [
        {"span_type": span.span_type, **event.attributes}
        for span in trace.data.spans
        for event in span.events
        if event.name == PROVIDER_ERROR_EVENT
    ]


def test_failed_attempts_that_were_retried_are_on_the_trace(
    api_over_http: Server, provider: Server, mlflow_url: str
) -> None:
    plan_faults(provider, [429, 500])
    answer = httpx.post(f"{api_over_http.url}/write", json={"topic": "Wind power"}, timeout=60)
    assert answer.status_code == 200, answer.text
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    assert trace.info.state.value == "OK"
    assert provider_errors(trace) == [
        {"span_type": "CHAT_MODEL", "error.type": "http_status", "http.status_code": 429},
        {"span_type": "CHAT_MODEL", "error.type": "http_status", "http.status_code": 500},
    ]


def test_a_fifth_of_provider_calls_failing_costs_no_request_and_hangs_none(
    provider: Server, mlflow_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """429s, 500s and stalls on 20% of calls: retries absorb them, every one is on a trace."""
    api = start_traced_api(
        tmp_path_factory.mktemp("api-flaky"),
        mlflow_url,
        "tests-flaky-provider",
        LLM_MAX_RETRIES="5",  # six attempts: a call fails for good 1 time in 15,000
        LLM_TIMEOUT_SECONDS="1",  # a stall ends in a timeout after a second, then a retry
        **provider_env(provider),
    )
    before = faults_served(provider)
    httpx.post(
        f"{provider.url}/admin/faults",
        json={"rate": 0.2, "rate_statuses": [429, 500, 0], "stall_seconds": 3, "seed": 7},
        timeout=5,
    ).raise_for_status()
    topics = ["Wind power", "Coral reefs", "Sleep and caffeine", "The printing press"] * 4

    async def run_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=120) as client:
            slots = asyncio.Semaphore(4)

            async def one(topic: str) -> httpx.Response:
                async with slots:
                    return await client.post(f"{api.url}/write", json={"topic": topic})

            return await asyncio.gather(*(one(t) for t in topics))

    try:
        started = time.monotonic()
        answers = asyncio.run(run_all())
        elapsed = time.monotonic() - started
    finally:
        plan_faults(provider, [])
        api.stop()
    injected = faults_served(provider) - before
    assert injected >= 20, "the plan failed about a fifth of some 200 calls"
    statuses = [a.status_code for a in answers]
    # Six attempts per call: an article fails only if one call fails six times in a row.
    assert statuses.count(200) >= len(topics) - 1, statuses
    assert set(statuses) <= {200, 502, 504}, statuses
    assert elapsed < 90, "no request hung"
    traces = [wait_for_trace(mlflow_url, a.json()["trace_id"]) for a in answers]
    for answer, trace in zip(answers, traces, strict=True):
        assert trace.info.state.value == ("OK" if answer.status_code == 200 else "ERROR")
    recorded = [e for t in traces for e in provider_errors(t)]
    assert len(recorded) == injected  # every failed attempt, retried or not, is on a trace
    assert {e.get("http.status_code") for e in recorded} >= {429, 500}
    assert any(e["error.type"] == "ReadTimeout" for e in recorded)


def readiness(api: Server) -> dict:
    return httpx.get(f"{api.url}/ready", timeout=10).json()


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Seconds until `check` held."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"not {what} after {timeout_s} s")
        time.sleep(0.2)
    return time.monotonic() - started


def test_tracking_server_killed_under_load_and_restarted(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Articles keep coming; every trace is stored or counted as dropped; /ready recovers."""
    data = tmp_path_factory.mktemp("mlflow-outage")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    mlflow_server = tracking_server.start(port, data, jobs=False)
    tracking_server.wait_until_healthy(url, mlflow_server, timeout_s=120)
    api = start_traced_api(
        tmp_path_factory.mktemp("api-outage"), url, "tests-outage", RUNTIME_STATS_ENABLED="true"
    )
    tracking = lambda: readiness(api)["checks"]["tracking"]["ok"]  # noqa: E731
    try:
        with Load(api.url, workers=3) as load:
            time.sleep(3)
            tracking_server.kill(mlflow_server)
            wait_until(lambda: not tracking(), 10, "degraded")
            time.sleep(8)  # longer than MLflow's own HTTP retries last
            mlflow_server = tracking_server.start(port, data, jobs=False)
            tracking_server.wait_until_healthy(url, mlflow_server, timeout_s=120)
            wait_until(tracking, 30, "ready again")
            time.sleep(2)
        outcomes = load.outcomes
        assert outcomes and {o.status for o in outcomes} == {200}
        ids = {o.trace_id for o in outcomes}
        assert None not in ids

        def accounted() -> bool:
            dropped = httpx.get(f"{api.url}/debug/runtime", timeout=10).json()["traces_dropped"]
            return len(ids & stored_traces(url, "tests-outage").keys()) + dropped == len(ids)

        wait_until(accounted, 90, "every trace stored or counted as dropped")
        runtime = httpx.get(f"{api.url}/debug/runtime", timeout=10).json()
        stored = len(ids & stored_traces(url, "tests-outage").keys())
        print(f"{len(ids)} articles: {stored} traces stored, {runtime['traces_dropped']} dropped")
        assert stored > 0
        assert runtime["in_memory_traces"] == 0
    finally:
        api.stop()
        tracking_server.stop(mlflow_server)
