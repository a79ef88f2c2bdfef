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
import sys
import tempfile
import time
from pathlib import Path

import httpx
import mlflow

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent import tracking_server
from tests.servers import free_port, start_api

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
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    port = free_port()
    server = tracking_server.start(port, work / "mlflow", jobs=False)
    mlflow_url = f"http://127.0.0.1:{port}"
    apis = {}
    try:
        tracking_server.wait_until_healthy(mlflow_url, server, timeout_s=120)
        apis["traced"] = start_api(
            work, MLFLOW_TRACKING_URI=mlflow_url, MLFLOW_EXPERIMENT_NAME="bench"
        )
        apis["untraced"] = start_api(work, TRACING_ENABLED="false")
        timings: dict[str, list[float]] = {name: [] for name in apis}
        trace_ids: list[str] = []
        with httpx.Client(timeout=120) as client:
            for i in range(args.requests + 3):  # the first 3 rounds warm up
                for name, api in apis.items():
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

        time.sleep(3)
        client_ = mlflow.MlflowClient(tracking_uri=mlflow_url)
        counts = []
        for trace_id in trace_ids[-10:]:
            for _ in range(100):
                trace = client_.get_trace(trace_id)
                if trace.info.state.value != "IN_PROGRESS":
                    break
                time.sleep(0.3)
            counts.append(len(trace.data.spans))
        print(
            f"spans per trace: median {statistics.median(counts):.0f} "
            f"(min {min(counts)}, max {max(counts)}) over {len(counts)} traces"
        )
    finally:
        for api in apis.values():
            api.stop()
        tracking_server.stop(server)


if __name__ == "__main__":
    main()
