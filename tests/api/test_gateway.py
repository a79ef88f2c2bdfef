"""LLM_MODEL=gateway:<endpoint>: the writer's model calls through the AI Gateway of a real
MLflow tracking server (SQL backend; no job runner, which the gateway does not need), whose
endpoints' provider is the offline model on its own port, with the API under uvicorn.

The app calls the gateway's OpenAI passthrough, `/gateway/openai/v1/chat/completions`, which
hands the request to the endpoint's model as the app wrote it. The tests read what it forwarded,
and which models it called, in the gateway's own traces, which it keeps in an experiment per
endpoint (`gateway/<endpoint>`).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest
from httpx_sse import connect_sse
from langchain_core.utils.function_calling import convert_to_openai_tool
from mlflow.entities import Trace
from mlflow.gateway.schemas import chat

from agent.state import Outline
from agent.structured import response_format
from agent.tools import EDITOR_TOOLS, RESEARCH_TOOLS
from service.llm import PROVIDER_ERROR_EVENT
from testbed.servers import (
    GATEWAY_SERVER_ENV,
    Server,
    create_gateway_endpoint,
    gateway_server,
    start_traced_apis,
    wait_for_trace,
)

EXPERIMENT = "gateway-tests"
ENDPOINT = "writer-chat"
FALLING_BACK = "writer-fallback"
UNKNOWN = "no-such-endpoint"
# Nothing listens on port 1 (binding it needs privileges no test takes): refused at once.
DEAD = "http://127.0.0.1:1"
# The offline model answers whatever model it is asked for. Naming the endpoint's model after
# one MLflow has a price for shows the gateway pricing the calls it makes.
PRICED_MODEL = "gpt-4o-mini"
# The gateway then writes its trace of a call before answering it, not seconds later, so the
# tests read them without waiting.
SERVER_ENV = {**GATEWAY_SERVER_ENV, "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false"}
# What the nodes offer the model, as LangChain writes it on the wire.
APP_TOOLS = [convert_to_openai_tool(t) for t in [*RESEARCH_TOOLS, *EDITOR_TOOLS]]


@dataclass
class Gateway:
    mlflow_url: str
    model: Server
    experiments: dict[str, str]  # endpoint -> the experiment of the gateway's own traces
    apis: dict[str, Server]  # endpoint -> the API whose LLM_MODEL names it


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with serving_gateway(tmp_path_factory.mktemp("gateway")) as served:
        yield served


@contextlib.contextmanager
def serving_gateway(work: Path, backend: str | None = None) -> Iterator[Gateway]:
    """A gateway server (sqlite, or the `backend` database) with the tests' endpoints, and an
    API per endpoint."""
    apis: list[Server] = []
    with gateway_server(work, jobs=False, env=SERVER_ENV, backend=backend) as (url, model):
        try:
            endpoints = {
                ENDPOINT: create_gateway_endpoint(url, ENDPOINT, model, PRICED_MODEL),
                FALLING_BACK: create_gateway_endpoint(
                    url, FALLING_BACK, DEAD, "dead-model", fallbacks=[(model, "offline-writer")]
                ),
            }
            names = [ENDPOINT, FALLING_BACK, UNKNOWN]
            apis = start_traced_apis(
                work, url, EXPERIMENT, [{"LLM_MODEL": f"gateway:{name}"} for name in names]
            )
            yield Gateway(
                url,
                model,
                {name: str(endpoint["experiment_id"]) for name, endpoint in endpoints.items()},
                dict(zip(names, apis, strict=True)),
            )
        finally:
            for api in apis:  # all at once: each takes a second or two to shut down
                api.process.terminate()
            for api in apis:
                api.stop()


def chat_spans(trace: Trace) -> list[Any]:
    return [s for s in trace.data.spans if s.span_type == "CHAT_MODEL"]


def gateway_traces(gateway: Gateway, endpoint: str, since_ms: int, count: int) -> list[Trace]:
    """The gateway's own traces of `endpoint` since `since_ms`, oldest first, once `count` are
    there (or after 30 s: the caller's assertions then say what is missing)."""
    client = mlflow.MlflowClient(tracking_uri=gateway.mlflow_url)
    deadline = time.monotonic() + 30
    while True:
        found = client.search_traces(
            locations=[gateway.experiments[endpoint]],
            filter_string=f"trace.timestamp_ms >= {since_ms}",
            order_by=["timestamp_ms ASC"],
            max_results=200,
        )
        if len(found) >= count or time.monotonic() > deadline:
            return list(found)
        time.sleep(0.5)


def forwarded(trace: Trace) -> dict[str, Any]:
    """The request body the gateway passed on to the model: its trace's root span inputs."""
    root = next(s for s in trace.data.spans if s.parent_id is None)
    return dict(root.inputs or {})


def model_spans(trace: Trace) -> list[tuple[str, str]]:
    """(name, status) of each call the gateway made to a provider, in order."""
    calls = sorted(
        (s for s in trace.data.spans if s.name.startswith("provider/")),
        key=lambda s: s.start_time_ns,
    )
    return [(s.name, s.status.status_code.value) for s in calls]


def test_an_article_through_a_gateway_endpoint(gateway: Gateway) -> None:
    since = int(time.time() * 1000)
    answer = httpx.post(
        f"{gateway.apis[ENDPOINT].url}/write",
        json={"topic": "How honeybees pollinate crops", "target_words": 300},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["article"]["markdown"].startswith("# ") and body["article"]["references"]
    assert body["model"] == ENDPOINT
    usage = body["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0

    trace = wait_for_trace(gateway.mlflow_url, body["trace_id"])
    assert trace.info.state.value == "OK"
    assert trace.info.trace_metadata["llm.provider"] == "gateway"
    assert trace.info.trace_metadata["llm.model"] == ENDPOINT
    chats = chat_spans(trace)
    assert len(chats) >= 5
    for span in chats:
        assert span.attributes["mlflow.llm.model"] == ENDPOINT
        tokens = span.attributes["mlflow.chat.tokenUsage"]
        assert tokens["input_tokens"] > 0 and tokens["output_tokens"] > 0
    assert trace.info.token_usage is not None
    assert trace.info.token_usage["total_tokens"] == usage["total_tokens"]
    tools = {s.name for s in trace.data.spans if s.span_type == "TOOL"}
    assert {"search_sources", "word_count", "check_citations"} <= tools

    # Every model call went through the gateway, tools and JSON schemas as the app wrote them,
    # and the gateway priced each call after the model its endpoint names.
    sent = gateway_traces(gateway, ENDPOINT, since, len(chats))
    assert len(sent) == len(chats)
    requests = [forwarded(t) for t in sent]
    offered = [tool for r in requests for tool in r.get("tools", [])]
    assert all(tool in APP_TOOLS for tool in offered)
    assert {tool["function"]["name"] for tool in offered} >= {"search_sources", "word_count"}
    # The plan's as the app wrote it: no `strict`, which the unified route adds (test below).
    schemas = [r["response_format"] for r in requests if "response_format" in r]
    assert response_format(Outline) in schemas
    assert not [f for f in schemas if "strict" in f["json_schema"]]
    assert all(model_spans(t) == [(f"provider/openai/{PRICED_MODEL}", "OK")] for t in sent)
    assert all(t.info.cost and t.info.cost["total_cost"] > 0 for t in sent)
    # The app prices by the model it asked for, the endpoint, which has no price (docs/models.md).
    assert body["cost_usd"] is None


def test_a_streamed_article_reports_its_usage_through_the_gateway(gateway: Gateway) -> None:
    since = int(time.time() * 1000)
    with (
        httpx.Client(timeout=120) as client,
        connect_sse(
            client,
            "POST",
            f"{gateway.apis[ENDPOINT].url}/write",
            json={"topic": "Solar power", "target_words": 300},
            headers={"Accept": "text/event-stream"},
        ) as source,
    ):
        events = [(e.event, json.loads(e.data)) for e in source.iter_sse() if e.data]
        trace_id = source.response.headers["X-Trace-Id"]
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and "token" in kinds

    trace = wait_for_trace(gateway.mlflow_url, trace_id)
    assert trace.info.state.value == "OK"
    chats = chat_spans(trace)
    assert all(s.attributes["mlflow.chat.tokenUsage"]["output_tokens"] > 0 for s in chats)
    sent = gateway_traces(gateway, ENDPOINT, since, len(chats))
    streamed = [t for t in sent if forwarded(t).get("stream")]
    assert streamed, "the draft was streamed through the gateway"
    for t in streamed:
        assert forwarded(t)["stream_options"] == {"include_usage": True}
        assert t.info.token_usage and t.info.token_usage["output_tokens"] > 0


def test_the_fallback_model_writes_the_article_when_the_primary_is_down(
    gateway: Gateway,
) -> None:
    since = int(time.time() * 1000)
    served = httpx.get(f"{gateway.model.url}/admin/stats", timeout=10).json()["completions"]
    answer = httpx.post(
        f"{gateway.apis[FALLING_BACK].url}/write", json={"topic": "Wind power"}, timeout=120
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["article"]["references"]

    trace = wait_for_trace(gateway.mlflow_url, body["trace_id"])
    assert trace.info.state.value == "OK"
    chats = chat_spans(trace)
    # The app saw only answers: the fallback happened inside the gateway...
    assert not [e for s in chats for e in s.events if e.name == PROVIDER_ERROR_EVENT]
    after = httpx.get(f"{gateway.model.url}/admin/stats", timeout=10).json()["completions"]
    assert after - served == len(chats)
    # ...whose own trace of every call shows the dead primary, then the fallback answering.
    sent = gateway_traces(gateway, FALLING_BACK, since, len(chats))
    assert len(sent) == len(chats)
    for t in sent:
        assert t.info.state.value == "OK"
        assert model_spans(t) == [
            ("provider/openai/dead-model", "ERROR"),
            ("provider/openai/offline-writer", "OK"),
        ]


def test_an_endpoint_the_gateway_does_not_have_is_refused_clearly(gateway: Gateway) -> None:
    answer = httpx.post(
        f"{gateway.apis[UNKNOWN].url}/write", json={"topic": "Wind power"}, timeout=60
    )
    assert answer.status_code == 502
    error = answer.json()
    # The gateway answers 404, which no retry mends.
    assert error["error"] == "provider_rejected"
    assert "LLM_MODEL" in error["message"]
    trace = wait_for_trace(gateway.mlflow_url, error["trace_id"])
    assert trace.info.state.value == "ERROR"
    failures = [e for s in chat_spans(trace) for e in s.events if e.name == PROVIDER_ERROR_EVENT]
    assert [e.attributes["http.status_code"] for e in failures] == [404]


def test_why_not_the_unified_route() -> None:
    """The gateway's unified route, /gateway/mlflow/v1, reads each request into MLflow's chat
    schema before translating it: that turns on `strict` for a JSON schema that did not ask
    for it (OpenAI then refuses the plan's Outline: strict schemas need `additionalProperties:
    false`), and drops what its subset of JSON Schema lacks, such as a tool parameter's
    `default`. If this fails, MLflow stopped rewriting requests: the unified route, which also
    translates for non-OpenAI providers, may now be the better one (service/llm.py)."""
    request = {
        "messages": [{"role": "user", "content": "Write."}],
        "tools": APP_TOOLS,
        "response_format": response_format(Outline),
    }
    read = chat.RequestPayload(**request).model_dump(exclude_none=True)
    assert read["response_format"]["json_schema"]["strict"] is True
    search = next(t for t in read["tools"] if t["function"]["name"] == "search_sources")
    assert "default" not in search["function"]["parameters"]["properties"]["k"]
