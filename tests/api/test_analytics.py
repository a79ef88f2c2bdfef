"""GET /analytics/tools and `writer tools` over real HTTP: every figure checked against the
stored spans, counted here independently."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlflow.entities import Trace

from service.analytics import NODES
from testbed.servers import Server, start_traced_api, wait_for_trace, writer_cli

EXPERIMENT = "analytics"  # its own: the figures cover every trace in it
TOPICS = ["Coral reefs", "Wind power", "Sleep and caffeine", "Medieval castle architecture"]


@pytest.fixture(scope="module")
def api(
    mlflow_url: str, synced_prompts: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    server = start_traced_api(tmp_path_factory.mktemp("analytics"), mlflow_url, EXPERIMENT)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stored(api: Server, mlflow_url: str) -> list[Trace]:
    """Three articles and one refused (no sources), each stored whole."""
    ids = []
    for topic in TOPICS:
        answer = httpx.post(f"{api.url}/write", json={"topic": topic}, timeout=120)
        ids.append(answer.json()["trace_id"])
    return [wait_for_trace(mlflow_url, trace_id) for trace_id in ids]


def ms(span: Any) -> float:
    return (span.end_time_ns - span.start_time_ns) / 1e6


def percentile(values: list[float], p: int) -> float:
    """Linear between the closest ranks, as the tracking server computes it."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def close(reported: float, counted: float) -> bool:
    # The server works from the stored milliseconds and rounds to a tenth.
    return abs(reported - counted) <= 1.1


def test_tools_nodes_and_articles_match_the_spans(api: Server, stored: list[Trace]) -> None:
    answer = httpx.get(f"{api.url}/analytics/tools", params={"since": "1h"}, timeout=60)
    assert answer.status_code == 200, answer.text
    report = answer.json()

    tools: dict[str, list[Any]] = defaultdict(list)
    nodes: dict[str, list[float]] = defaultdict(list)
    roots = []
    for trace in stored:
        for span in trace.data.spans:
            if span.span_type == "TOOL":
                tools[span.name].append(span)
            elif span.span_type == "CHAIN" and span.name in NODES:
                nodes[span.name].append(ms(span))
            elif span.name == "write_article":
                roots.append(ms(span))

    assert [row["tool"] for row in report["tools"]] == sorted(
        tools, key=lambda name: (-len(tools[name]), name)
    )
    for row in report["tools"]:
        spans = tools[row["tool"]]
        errors = sum(span.status.status_code == "ERROR" for span in spans)
        assert (row["calls"], row["errors"]) == (len(spans), errors)
        assert row["error_rate"] == round(errors / len(spans), 4)
        durations = [ms(span) for span in spans]
        assert close(row["p50_ms"], percentile(durations, 50)), (row, durations)
        assert close(row["p95_ms"], percentile(durations, 95)), (row, durations)

    assert [row["node"] for row in report["nodes"]] == [name for name in NODES if name in nodes]
    for row in report["nodes"]:
        durations = nodes[row["node"]]
        assert row["runs"] == len(durations)
        assert close(row["p50_ms"], percentile(durations, 50))
        assert row["share_of_time"] == pytest.approx(sum(durations) / sum(roots), abs=0.02)
    assert {"plan", "research", "draft", "review", "finalize"} <= set(nodes)

    articles = [t for t in stored if t.info.tags.get("outcome") == "article"]
    tokens = [t.info.token_usage["total_tokens"] for t in articles]
    assert report["articles"]["count"] == len(articles) == 3
    assert report["articles"]["tokens_p50"] == pytest.approx(percentile(tokens, 50), abs=0.1)
    assert report["articles"]["tokens_p95"] == pytest.approx(percentile(tokens, 95), abs=0.1)


def test_a_window_before_the_articles_holds_none(api: Server, stored: list[Trace]) -> None:
    first = min(trace.info.request_time for trace in stored) / 1000
    earlier = httpx.get(
        f"{api.url}/analytics/tools",
        params={"since": "2d", "until": _iso(first - 3600)},
        timeout=60,
    )
    assert earlier.status_code == 200, earlier.text
    assert earlier.json()["tools"] == [] and earlier.json()["articles"] == {
        "count": 0,
        "tokens_p50": None,
        "tokens_p95": None,
        "duration_ms_p50": None,
        "duration_ms_p95": None,
    }


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"since": "yesterday"}, "15m, 1h or 7d"),
        ({"since": "40d"}, "at most 31 days"),
        ({"since": "1h", "until": "2h"}, "since must be before until"),
    ],
)
def test_bad_windows_are_told(api: Server, params: dict[str, str], says: str) -> None:
    answer = httpx.get(f"{api.url}/analytics/tools", params=params, timeout=60)
    assert answer.status_code == 422 and says in answer.json()["message"], answer.text


def test_writer_tools_prints_the_same(
    api: Server, stored: list[Trace], mlflow_url: str, tmp_path: Path
) -> None:
    env = {"MLFLOW_TRACKING_URI": mlflow_url, "MLFLOW_EXPERIMENT_NAME": EXPERIMENT}
    printed = writer_cli("tools", "--since", "1h", "--json", cwd=tmp_path, **env)
    assert printed.returncode == 0, printed.stderr[-2000:]
    served = httpx.get(f"{api.url}/analytics/tools", params={"since": "1h"}, timeout=60).json()
    report = json.loads(printed.stdout)
    assert report["tools"] == served["tools"] and report["nodes"] == served["nodes"]
    table = writer_cli("tools", "--since", "1d", cwd=tmp_path, **env)
    assert table.returncode == 0 and "search_sources" in table.stdout
    assert "3 articles: tokens p50" in table.stdout


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
