"""Median latency of POST /write with tracing on and off, measured in the same run.

    uv run python -m bench.write_latency [--requests 40]

Starts an MLflow server and one API per configuration on loopback (offline model, no token
delay):
  untraced  TRACING_ENABLED=false, the baseline
  traced    the app's defaults (batched export, no attachment scan: docs/tracing.md, "Tracing cost")
  stock     traced with MLflow's own export defaults, to show what the tuning buys
  sampled   the app's defaults, tracing one request in ten (MLFLOW_TRACE_SAMPLING_RATIO)
Requests go round the configurations, one at a time, so all see the same machine noise.
Prints medians and p95s, each median's ratio to the untraced one, and the span count and
stored size of the traced requests' traces.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from bench.harness import Server, apis, wait_for_trace

TOPICS = [
    "How honeybees pollinate crops",
    "Urban heat islands",
    "Solar power and storage",
    "Sleep and caffeine",
    "The printing press",
    "Coral reefs",
]


# MLflow 3's own defaults for what the app tunes (agent/settings.py says why each differs).
STOCK_EXPORT = {
    "MLFLOW_TRACE_SPAN_BATCH_SIZE": "5",
    "MLFLOW_TRACE_BATCH_INTERVAL_MS": "5000",
    "MLFLOW_TRACE_EXPORT_WORKERS": "10",
    "MLFLOW_TRACE_EXTRACT_ATTACHMENTS": "true",
}


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


WARM_UP = 3  # rounds left out: imports, the prompt registry and caches load on first use


def round_robin(
    client: httpx.Client, servers: dict[str, Server], requests: int
) -> tuple[dict[str, list[float]], dict[str, list[httpx.Response]]]:
    """POST /write round the APIs, one at a time, so all see the same machine noise: each
    one's latencies in ms and its answers, the warm-up rounds left out."""
    timings: dict[str, list[float]] = {name: [] for name in servers}
    answers: dict[str, list[httpx.Response]] = {name: [] for name in servers}
    for i in range(requests + WARM_UP):
        for name, api in servers.items():
            body = {"topic": TOPICS[i % len(TOPICS)]}
            started = time.perf_counter()
            answer = client.post(f"{api.url}/write", json=body)
            elapsed = (time.perf_counter() - started) * 1000
            answer.raise_for_status()
            if i >= WARM_UP:
                timings[name].append(elapsed)
                answers[name].append(answer)
    return timings, answers


def report_medians(timings: dict[str, list[float]], baseline_name: str) -> None:
    baseline = statistics.median(timings[baseline_name])
    for name, values in timings.items():
        median = statistics.median(values)
        print(
            f"{name:>9}: median {median:7.1f} ms   p95 {p95(values):7.1f} ms   "
            f"x{median / baseline:.3f} of {baseline_name}   (n={len(values)})"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40, help="per configuration")
    args = parser.parse_args()
    configs = {
        "untraced": {"TRACING_ENABLED": "false"},
        "traced": {},
        "stock": STOCK_EXPORT,
        "sampled": {"MLFLOW_TRACE_SAMPLING_RATIO": "0.1"},
    }
    with apis(configs) as (mlflow_url, servers), httpx.Client(timeout=120) as client:
        timings, answers = round_robin(client, servers, args.requests)
        report_medians(timings, "untraced")
        trace_ids = [answer.json()["trace_id"] for answer in answers["traced"]]
        traces = [wait_for_trace(mlflow_url, t) for t in trace_ids[-10:]]
        counts = [len(t.data.spans) for t in traces]
        sizes = [len(t.to_json()) / 1024 for t in traces]
        print(
            f"spans per trace: median {statistics.median(counts):.0f} "
            f"(min {min(counts)}, max {max(counts)}); stored size median "
            f"{statistics.median(sizes):.0f} KiB, over {len(counts)} traces"
        )


if __name__ == "__main__":
    main()
