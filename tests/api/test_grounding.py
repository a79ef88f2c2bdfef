"""Grounded or honest, over real HTTP: a topic the library lacks gets no article."""

from __future__ import annotations

import json

import httpx
import mlflow
import pytest
from httpx_sse import connect_sse

from agent.research.sources import SourceLibrary
from agent.settings import BUNDLED_SOURCES
from testbed.servers import Server, wait_for_trace

OFF_LIBRARY = "Medieval Japanese castle architecture"


def test_a_topic_the_library_lacks_gets_no_sources_naming_the_closest(
    api: Server, mlflow_url: str
) -> None:
    answer = httpx.post(f"{api.url}/write", json={"topic": OFF_LIBRARY}, timeout=60)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "no_sources"
    assert OFF_LIBRARY in body["message"] and "SOURCES_DIR" in body["message"]
    assert "documents in" in body["message"] and "agent/corpus" in body["message"]  # searched
    closest = body["closest_sources"]
    assert closest and all(s["id"] in body["message"] for s in closest)
    assert answer.headers["X-Trace-Id"] == body["trace_id"]

    # The trace says what happened, and the outcome is searchable.
    trace = wait_for_trace(mlflow_url, body["trace_id"])
    assert trace.info.tags["outcome"] == "no_sources"
    assert not [s for s in trace.data.spans if s.name in ("draft", "finalize")]
    gate = next(s for s in trace.data.spans if s.name == "coverage.state")
    assert gate.attributes["state.coverage"] == "none"
    # One grade per source research met, under the gate: which source, the verdict, and why.
    grades = [s for s in trace.data.spans if s.name == "grade_source"]
    assert grades and {s.parent_id for s in grades} == {gate.span_id}
    for grade in grades:
        assert grade.span_type == "EVALUATOR"
        assert grade.attributes["source.id"] and grade.attributes["grade.by"] == "rule"
        assert grade.attributes["grade.relevant"] is False and grade.attributes["grade.reason"]
    found = mlflow.MlflowClient(tracking_uri=mlflow_url).search_traces(
        locations=[trace.info.experiment_id],
        filter_string="tags.outcome = 'no_sources'",
        order_by=["timestamp_ms DESC"],
        max_results=100,
        include_spans=False,
    )
    assert body["trace_id"] in {t.info.trace_id for t in found}


def test_the_stream_ends_with_a_no_sources_error_event(api: Server) -> None:
    with (
        httpx.Client(base_url=api.url, timeout=60) as client,
        connect_sse(
            client,
            "POST",
            "/write",
            json={"topic": OFF_LIBRARY},
            headers={"Accept": "text/event-stream"},
        ) as events,
    ):
        received = [(e.event, json.loads(e.data)) for e in events.iter_sse() if e.event]
    kinds = [kind for kind, _ in received]
    assert kinds[0] == "trace" and kinds[-1] == "error" and "token" not in kinds
    error = received[-1][1]
    assert error["code"] == "no_sources" and error["closest_sources"]


def test_a_topic_one_source_covers_gives_a_short_article_citing_only_it(api: Server) -> None:
    answer = httpx.post(
        f"{api.url}/write",
        json={"topic": "The Tacoma Narrows bridge collapse", "target_words": 900},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    article = answer.json()["article"]
    assert {r["source_id"] for r in article["references"]} == {"suspension-bridges"}
    document = SourceLibrary(BUNDLED_SOURCES).get("suspension-bridges")
    assert document is not None
    # Not padded out to the 900 words asked for with passages about something else.
    assert article["word_count"] <= len(document.markdown.split())


@pytest.mark.parametrize("topic", ["How honeybees pollinate crops", "Roman aqueducts"])
def test_a_covered_topic_still_writes(api: Server, topic: str) -> None:
    answer = httpx.post(f"{api.url}/write", json={"topic": topic}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.json()["article"]["references"]
