"""The agent as one hop of a distributed trace (W3C trace context).

In: a request with a `traceparent` goes on in the caller's trace, its root span a child of the
caller's span, stored whole (user, session, previews, prompts) under the caller's trace id.
Out: every model call carries the `traceparent` of its chat span, so a provider (or gateway)
that traces joins the article's trace. The offline model, served on its own port as a
provider, records the header of every request it gets."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pytest
from httpx_sse import connect_sse
from mlflow.entities import Span, Trace
from mlflow.exceptions import MlflowException

from testbed.servers import (
    Server,
    provider_env,
    start_offline_model,
    start_traced_api,
    wait_for_trace,
    writer_cli,
)
from tracing import internals


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


def caller_span() -> tuple[str, str, str]:
    """A caller's trace and span ids, and the `traceparent` that names them (sampled)."""
    trace_hex, span_hex = secrets.token_hex(16), secrets.token_hex(8)
    return trace_hex, span_hex, f"00-{trace_hex}-{span_hex}-01"


def write(api: Server, headers: dict[str, str], topic: str = "Coral reefs") -> httpx.Response:
    return httpx.post(
        f"{api.url}/write", json={"topic": topic, "user_id": "ada"}, headers=headers, timeout=120
    )


def root_of(trace: Trace) -> Span:
    (root,) = [span for span in trace.data.spans if span.name == "write_article"]
    return root


def assert_goes_on_from(trace: Trace, trace_hex: str, span_hex: str) -> None:
    """The stored trace is the caller's, whole: the app's root under the caller's span, every
    span present, and the app's trace info (user, session, previews, finalized)."""
    assert trace.info.trace_id == f"tr-{trace_hex}"
    assert root_of(trace).parent_id == span_hex
    assert {span.trace_id for span in trace.data.spans} == {trace.info.trace_id}
    assert len(trace.data.spans) == internals.recorded_span_count(trace.info)
    assert trace.info.trace_metadata["mlflow.trace.user"] == "ada"
    assert trace.info.trace_metadata["mlflow.trace.session"].startswith("s-")
    assert trace.info.request_preview and trace.info.response_preview
    assert internals.info_finalized(trace.info)


def test_a_request_with_a_traceparent_goes_on_in_the_callers_trace(
    provider_and_api: tuple[Server, Server], mlflow_url: str
) -> None:
    provider, api = provider_and_api
    before = len(received(provider))
    trace_hex, span_hex, traceparent = caller_span()
    answer = write(api, {"traceparent": traceparent, "tracestate": "vendor=1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["trace_id"] == answer.headers["X-Trace-Id"] == f"tr-{trace_hex}"
    trace = wait_for_trace(mlflow_url, f"tr-{trace_hex}")
    assert_goes_on_from(trace, trace_hex, span_hex)
    assert trace.info.state.value == "OK"
    assert "traceparent" not in json.dumps(root_of(trace).inputs)  # the parent id says it
    # The model calls carry the caller's trace on.
    assert {header.split("-")[1] for header in received(provider)[before:] if header} == {trace_hex}
    # The prompt versions the article used are linked to the caller's trace, as to any other.
    client = mlflow.MlflowClient(tracking_uri=mlflow_url)
    linked = client.search_traces(
        locations=[trace.info.experiment_id],
        filter_string="prompt = 'article-draft/1'",
        max_results=500,
        include_spans=False,
    )
    assert trace.info.trace_id in {found.info.trace_id for found in linked}


def test_a_stream_goes_on_in_the_callers_trace_and_says_so_first(
    provider_and_api: tuple[Server, Server], mlflow_url: str
) -> None:
    _, api = provider_and_api
    trace_hex, span_hex, traceparent = caller_span()
    headers = {"traceparent": traceparent, "Accept": "text/event-stream"}
    with (
        httpx.Client(timeout=120) as client,
        connect_sse(
            client,
            "POST",
            f"{api.url}/write",
            json={"topic": "Coral reefs", "user_id": "ada"},
            headers=headers,
        ) as source,
    ):
        events = [(e.event, json.loads(e.data)) for e in source.iter_sse() if e.data]
    assert events[0] == ("trace", events[0][1]) and events[0][1]["trace_id"] == f"tr-{trace_hex}"
    assert events[-1][0] == "done" and events[-1][1]["trace_id"] == f"tr-{trace_hex}"
    assert_goes_on_from(wait_for_trace(mlflow_url, f"tr-{trace_hex}"), trace_hex, span_hex)


def test_a_failed_article_in_the_callers_trace_is_stored_as_an_error(
    provider_and_api: tuple[Server, Server], mlflow_url: str
) -> None:
    _, api = provider_and_api
    trace_hex, span_hex, traceparent = caller_span()
    answer = write(api, {"traceparent": traceparent}, "The history of competitive yodelling")
    assert answer.status_code == 422 and answer.json()["error"] == "no_sources", answer.text
    assert answer.json()["trace_id"] == f"tr-{trace_hex}"
    trace = wait_for_trace(mlflow_url, f"tr-{trace_hex}")
    assert_goes_on_from(trace, trace_hex, span_hex)
    assert trace.info.state.value == "ERROR"


@pytest.mark.parametrize(
    "traceparent",
    [
        "not a traceparent",
        f"00-{'0' * 32}-{'1' * 16}-01",  # the all-zero trace id names no trace
        f"00-{'1' * 32}-{'0' * 16}-01",  # nor the all-zero span id a span
        f"ff-{'1' * 32}-{'1' * 16}-01",  # version ff is forbidden
        f"00-{'1' * 31}-{'1' * 16}-01",
        f"00-{'g' * 32}-{'1' * 16}-01",  # not hex
    ],
)
def test_a_malformed_traceparent_is_ignored(
    provider_and_api: tuple[Server, Server], mlflow_url: str, traceparent: str
) -> None:
    _, api = provider_and_api
    answer = write(api, {"traceparent": traceparent, "tracestate": "=="})
    assert answer.status_code == 200, answer.text
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    assert root_of(trace).parent_id is None  # a trace of its own


def test_concurrent_requests_from_different_callers_stay_apart(
    provider_and_api: tuple[Server, Server], mlflow_url: str
) -> None:
    _, api = provider_and_api
    callers = [caller_span() for _ in range(10)]

    async def post_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=180) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        f"{api.url}/write",
                        json={"topic": "Wind power", "user_id": "ada"},
                        headers={"traceparent": traceparent},
                    )
                    for _, _, traceparent in callers
                )
            )

    answers = asyncio.run(post_all())
    assert [answer.status_code for answer in answers] == [200] * 10
    for (trace_hex, span_hex, _), answer in zip(callers, answers, strict=True):
        assert answer.json()["trace_id"] == f"tr-{trace_hex}"
        assert_goes_on_from(wait_for_trace(mlflow_url, f"tr-{trace_hex}"), trace_hex, span_hex)


def test_requests_from_one_caller_span_share_its_trace(
    provider_and_api: tuple[Server, Server], mlflow_url: str
) -> None:
    """A caller that fans one span out to several calls: one trace, each call's root under the
    caller's span, every span of both kept (a second call must not replace the first's)."""
    _, api = provider_and_api
    trace_hex, span_hex, traceparent = caller_span()

    async def post_both() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=180) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        f"{api.url}/write",
                        json={"topic": topic, "user_id": "ada"},
                        headers={"traceparent": traceparent},
                    )
                    for topic in ("Coral reefs", "Wind power")
                )
            )

    answers = asyncio.run(post_both())
    assert [a.status_code for a in answers] == [200, 200]
    assert {a.json()["trace_id"] for a in answers} == {f"tr-{trace_hex}"}
    trace = wait_for_trace(mlflow_url, f"tr-{trace_hex}")
    roots = [s for s in trace.data.spans if s.name == "write_article"]
    assert [root.parent_id for root in roots] == [span_hex, span_hex]
    assert len(trace.data.spans) == internals.recorded_span_count(trace.info)
    ids = {s.span_id for s in trace.data.spans}
    assert all(s.parent_id in ids for s in trace.data.spans if s.name != "write_article")


def test_the_cli_goes_on_in_the_trace_it_is_given(
    mlflow_url: str, synced_prompts: str, tmp_path: Path
) -> None:
    trace_hex, span_hex, traceparent = caller_span()
    done = writer_cli(
        "write",
        "Coral reefs",
        "--user",
        "ada",
        "--json",
        cwd=tmp_path,
        MLFLOW_TRACKING_URI=mlflow_url,
        MLFLOW_EXPERIMENT_NAME="tests",
        TRACEPARENT=traceparent,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["trace_id"] == f"tr-{trace_hex}"
    assert_goes_on_from(wait_for_trace(mlflow_url, f"tr-{trace_hex}"), trace_hex, span_hex)


def test_a_caller_that_does_not_sample_gets_no_trace(
    provider_and_api: tuple[Server, Server], mlflow_url: str
) -> None:
    """The sampled flag is the caller's decision (W3C trace context): off, nothing is recorded,
    and the answer names no trace rather than one that does not exist."""
    _, api = provider_and_api
    trace_hex, _, traceparent = caller_span()
    answer = write(api, {"traceparent": traceparent[:-2] + "00"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["trace_id"] is None and "X-Trace-Id" not in answer.headers
    time.sleep(3)  # what a store in the background would need
    with pytest.raises(MlflowException, match="not found"):
        mlflow.MlflowClient(tracking_uri=mlflow_url).get_trace(f"tr-{trace_hex}")
