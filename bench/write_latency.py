"""Median latency of POST /write with tracing on and off, measured in the same run.

    uv run python bench/write_latency.py [--requests 40]

Starts an MLflow server and two APIs on loopback (offline model, no token delay): one traced
into the server, one with TRACING_ENABLED=false. Requests alternate between the two, one at a
time, so both see the same machine noise. Prints medians, p95s, their ratio, and the span count
of the traced requests' traces.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from harness import apis, wait_for_trace

TOPICS = [
    "How honeybees pollinate crops",
    "Urban heat islands",
    "Solar power and storage",
    "Sleep and caffeine",
    "The printing press",
    "Coral reefs",
]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40, help="per configuration")
    args = parser.parse_args()
    configs = {"traced": {}, "untraced": {"TRACING_ENABLED": "false"}}
    with apis(configs) as (mlflow_url, servers), httpx.Client(timeout=120) as client:
        timings: dict[str, list[float]] = {name: [] for name in servers}
        trace_ids: list[str] = []
        for i in range(args.requests + 3):  # the first 3 rounds warm up
            for name, api in servers.items():
                body = {"topic": TOPICS[i % len(TOPICS)]}
                started = time.perf_counter()
                answer = client.post(f"{api.url}/write", json=body)
                elapsed = (time.perf_counter() - started) * 1000
                answer.raise_for_status()
                if i >= 3:
                    timings[name].append(elapsed)
                    if name == "traced":
                        trace_ids.append(answer.json()["trace_id"])
        for name, values in timings.items():
            print(
                f"{name:>9}: median {statistics.median(values):7.1f} ms   "
                f"p95 {p95(values):7.1f} ms   (n={len(values)})"
            )
        ratio = statistics.median(timings["traced"]) / statistics.median(timings["untraced"])
        print(f"traced/untraced median ratio: {ratio:.2f}")
        counts = [len(wait_for_trace(mlflow_url, t).data.spans) for t in trace_ids[-10:]]
        print(
            f"spans per trace: median {statistics.median(counts):.0f} "
            f"(min {min(counts)}, max {max(counts)}) over {len(counts)} traces"
        )


if __name__ == "__main__":
    main()
