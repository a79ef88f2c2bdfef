"""The trace goes on out of the agent: every model call carries the W3C `traceparent` of its
chat span, so a provider (or gateway) that traces joins the article's trace. The offline model,
served on its own port as a provider, records the header of every request it gets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import (
    Server,
    provider_env,
    start_offline_model,
    start_traced_api,
    wait_for_trace,
)


@pytest.fixture(scope="module")
def provider_and_api(
    mlflow_url: str, synced_prompts: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    work = Path(tmp_path_factory.mktemp("trace-context"))
    provider = start_offline_model(work)
    api = start_traced_api(work, mlflow_url, "tests", **provider_env(provider))
    yield provider, api
    api.stop()
    provider.stop()


def received(provider: Server) -> list[str | None]:
    return list(httpx.get(f"{provider.url}/admin/trace-context").json()["traceparents"])


def test_every_model_call_carries_the_trace_of_its_chat_span(
    provider_and_api: tuple[Server, Server], mlflow_url: str
) -> None:
    provider, api = provider_and_api
    before = len(received(provider))
    answer = httpx.post(
        f"{api.url}/write", json={"topic": "Coral reefs", "user_id": "ada"}, timeout=120
    )
    assert answer.status_code == 200, answer.text
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    headers = received(provider)[before:]
    chat_spans = {s.span_id for s in trace.data.spans if s.span_type == "CHAT_MODEL"}
    assert headers and None not in headers
    parsed = [header.split("-") for header in headers if header]
    assert {version for version, _, _, _ in parsed} == {"00"}
    assert {trace_hex for _, trace_hex, _, _ in parsed} == {trace.info.trace_id.removeprefix("tr-")}
    # Each request names the chat span that made it: one header per model call.
    assert sorted(span for _, _, span, _ in parsed) == sorted(chat_spans)
