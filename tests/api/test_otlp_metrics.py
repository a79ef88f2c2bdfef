"""Metrics over OTLP, for real: a small OTLP/HTTP receiver started here decodes what the API
sends (protobuf) and the test reads the metric names and attributes a team's dashboard would."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from testbed.servers import Server, free_port, start_traced_api
from tracing.metrics import SPAN_DURATION_LABELS


class Receiver:
    """Every data point received, as (metric name, attributes, value)."""

    def __init__(self) -> None:
        self.points: list[tuple[str, dict[str, Any], float]] = []
        self.lock = threading.Lock()

    def take(self, body: bytes) -> None:
        request = ExportMetricsServiceRequest.FromString(body)
        with self.lock:
            for resource in request.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        kind = metric.WhichOneof("data")
                        for point in getattr(metric, kind).data_points:
                            attributes = {
                                a.key: getattr(a.value, a.value.WhichOneof("value"))
                                for a in point.attributes
                            }
                            value = point.count if kind == "histogram" else point.as_int
                            self.points.append((metric.name, attributes, float(value)))

    def named(self, name: str) -> list[tuple[dict[str, Any], float]]:
        with self.lock:
            return [(a, v) for n, a, v in self.points if n == name]


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, Receiver]]:
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.take(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/v1/metrics", got
    server.shutdown()


@pytest.fixture(scope="module")
def measured_api(
    mlflow_url: str,
    synced_prompts: str,
    receiver: tuple[str, Receiver],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    endpoint, _ = receiver
    server = start_traced_api(
        Path(tmp_path_factory.mktemp("metrics")),
        mlflow_url,
        "tests",
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=endpoint,
        OTEL_METRIC_EXPORT_INTERVAL="500",
    )
    yield server
    server.stop()


def test_span_durations_and_the_apps_counters_reach_the_receiver(
    measured_api: Server, receiver: tuple[str, Receiver]
) -> None:
    _, got = receiver
    sessions = []
    for user in ("ada-lovelace", "grace-hopper"):  # two users, two sessions
        written = httpx.post(
            f"{measured_api.url}/write", json={"topic": "Coral reefs", "user_id": user}, timeout=120
        )
        assert written.status_code == 200, written.text
        sessions.append(written.json()["session_id"])
    refused = httpx.post(
        f"{measured_api.url}/write", json={"topic": "Medieval castle architecture"}, timeout=60
    )
    assert refused.status_code == 422
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        outcomes = {a.get("outcome") for a, _ in got.named("writer.turns")}
        if {"article", "no_sources"} <= outcomes and got.named("mlflow.trace.span.duration"):
            break
        time.sleep(0.5)
    turns = got.named("writer.turns")
    assert {(a["kind"], a["outcome"]) for a, _ in turns} >= {
        ("write", "article"),
        ("write", "no_sources"),
    }
    directions = {a["direction"]: v for a, v in got.named("writer.tokens")}
    assert directions["input"] > 0 and directions["output"] > 0
    durations = got.named("mlflow.trace.span.duration")
    assert durations, "no span durations from MLflow"
    span_types = {a["span_type"] for a, _ in durations}
    assert {"AGENT", "CHAT_MODEL", "TOOL"} <= span_types
    roots = [a for a, _ in durations if a["root"]]
    assert roots and all(a["span_type"] == "AGENT" for a in roots)
    assert {a.get("tags.outcome") for a in roots} >= {"article", "no_sources"}
    # Only labels with a bounded set of values: a user or a session would make a new series
    # each, kept and sent again in every export.
    labels = {key for a, _ in durations for key in a}
    assert labels <= SPAN_DURATION_LABELS and "metadata.llm.model" in labels
    values = {str(value) for a, _ in durations for value in a.values()}
    assert not values & {"ada-lovelace", "grace-hopper", *sessions}
