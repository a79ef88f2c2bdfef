"""Imperfect models, over real HTTP: the offline model on its own port answers as small local
models do (invalid JSON, no tool calls, bad arguments, answers cut at their bound, prompts too
long), and each request ends as documented, with the fallback on the trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mlflow.entities import SpanType, Trace

from agent.context import TRIM_EVENT
from agent.nodes.research import FALLBACK_EVENT
from agent.structured import UNUSABLE_EVENT
from testbed.servers import (
    Server,
    provider_env,
    start_offline_model,
    start_traced_api,
    wait_for_trace,
)

TOPIC = "How honeybees pollinate crops"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_offline_model(tmp_path_factory.mktemp("imperfect-model"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api(
    model: Server, mlflow_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    server = start_traced_api(
        tmp_path_factory.mktemp("api-imperfect"),
        mlflow_url,
        "tests-imperfect",
        **provider_env(model),
    )
    yield server
    server.stop()


def fault(model: Server, **plan: Any) -> None:
    httpx.post(f"{model.url}/admin/faults", json=plan, timeout=5).raise_for_status()


def write(api: Server, **body: Any) -> httpx.Response:
    return httpx.post(f"{api.url}/write", json={"topic": TOPIC, **body}, timeout=90)


def events(trace: Trace, span_name: str, event: str) -> list[dict[str, Any]]:
    return [
        dict(e.attributes)
        for s in trace.data.spans
        if s.name == span_name
        for e in s.events
        if e.name == event
    ]


def test_an_unusable_plan_is_retried_once_with_its_error(
    api: Server, model: Server, mlflow_url: str
) -> None:
    fault(model, answers={"plan": ["invalid_json"]})
    answer = write(api)
    assert answer.status_code == 200, answer.text
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    [refused] = events(trace, "plan.state", UNUSABLE_EVENT)
    assert refused["schema"] == "Outline" and "not valid JSON" in refused["problem"]


def test_a_plan_cut_at_its_bound_is_retried(api: Server, model: Server, mlflow_url: str) -> None:
    fault(model, answers={"plan": ["length"]})
    answer = write(api)
    assert answer.status_code == 200, answer.text
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    [refused] = events(trace, "plan.state", UNUSABLE_EVENT)
    assert "cut off" in refused["problem"]


def test_a_plan_unusable_twice_ends_as_model_error(
    api: Server, model: Server, mlflow_url: str
) -> None:
    fault(model, answers={"plan": ["invalid_json", "invalid_json"]})
    answer = write(api)
    assert answer.status_code == 502, answer.text
    body = answer.json()
    assert body["error"] == "model_error" and "plan could not be used" in body["message"]
    trace = wait_for_trace(mlflow_url, body["trace_id"])
    assert trace.info.state.value == "ERROR" and trace.info.tags["outcome"] == "model_error"
    assert len(events(trace, "plan.state", UNUSABLE_EVENT)) == 2


def test_research_without_tool_calls_searches_the_questions_itself(
    api: Server, model: Server, mlflow_url: str
) -> None:
    fault(model, answers={"research": ["no_tool_calls"]})
    answer = write(api)
    assert answer.status_code == 200, answer.text
    assert answer.json()["article"]["references"]
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    [fallback] = events(trace, "research.state", FALLBACK_EVENT)
    assert fallback["reason"] == "no_tool_calls" and int(fallback["searches"]) >= 1
    searches = [s for s in trace.data.spans if s.name == "search_sources"]
    assert len(searches) == int(fallback["searches"])


def test_bad_tool_arguments_go_back_to_the_model(
    api: Server, model: Server, mlflow_url: str
) -> None:
    fault(model, answers={"research": ["bad_tool_args"]})
    answer = write(api)
    assert answer.status_code == 200, answer.text
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    # Both errors reached the model: the next research call's request carries them.
    asked = [str(s.inputs) for s in trace.data.spans if s.span_type == SpanType.CHAT_MODEL]
    assert any("no-such-source" in said and "query" in said for said in asked)


def test_an_unreadable_editor_gets_a_separate_structured_decision(
    api: Server, model: Server, mlflow_url: str
) -> None:
    # The tools phase answers prose with no tool call; the decision is then asked on its own
    # (schema, no tools), and when that fails twice the draft goes through, and says why.
    fault(model, answers={"review": ["invalid_json"], "decision": ["invalid_json", "invalid_json"]})
    answer = write(api)
    assert answer.status_code == 200, answer.text
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    refused = events(trace, "review.state", UNUSABLE_EVENT)
    assert [r["schema"] for r in refused] == ["ReviewVerdict", "ReviewVerdict"]


def test_an_overlong_draft_is_cut_at_its_bound(api: Server, model: Server) -> None:
    fault(model, answers={"draft": ["overlong"]})
    answer = write(api, target_words=300)
    assert answer.status_code == 200, answer.text
    article = answer.json()["article"]
    assert article["references"] and article["word_count"] <= 2 * 300 + 200


def test_a_provider_4xx_is_not_retried_and_says_so(
    api: Server, model: Server, mlflow_url: str
) -> None:
    before = httpx.get(f"{model.url}/admin/stats", timeout=5).json()["faults_served"]
    fault(model, statuses=[400, 400, 400])
    answer = write(api)
    fault(model)  # clear what was not served
    assert answer.status_code == 502, answer.text
    body = answer.json()
    assert body["error"] == "provider_rejected"
    assert "try again" not in body["message"].lower() and "will not help" in body["message"]
    assert httpx.get(f"{model.url}/admin/stats", timeout=5).json()["faults_served"] == before + 1


def test_a_prompt_over_the_providers_context_is_context_too_small(
    api: Server, model: Server
) -> None:
    fault(model, context_tokens=300)
    answer = write(api)
    fault(model)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "context_too_small" and "fewer words" in body["message"]


@pytest.mark.parametrize(
    ("window", "status"),
    [(1000, 422), (4000, 200)],  # no plan fits in 1,000 tokens; 4,000 holds a trimmed draft
)
def test_prompts_are_budgeted_to_the_context_window(
    model: Server,
    mlflow_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    window: int,
    status: int,
) -> None:
    fault(model)
    server = start_traced_api(
        tmp_path_factory.mktemp("api-window"),
        mlflow_url,
        "tests-imperfect",
        LLM_CONTEXT_TOKENS=str(window),
        # The sources the rule keeps: what a grading model keeps would move the draft's size.
        SOURCE_GRADER="rule",
        **provider_env(model),
    )
    try:
        before = httpx.get(f"{model.url}/admin/stats", timeout=5).json()["completions"]
        answer = write(server, target_words=300)
        assert answer.status_code == status, answer.text
        if status == 422:
            assert answer.json()["error"] == "context_too_small"
            # Refused before any model call: nothing was spent.
            assert httpx.get(f"{model.url}/admin/stats", timeout=5).json()["completions"] == before
        else:
            trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
            assert events(trace, "draft.state", TRIM_EVENT)
    finally:
        server.stop()
