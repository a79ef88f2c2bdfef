"""Streaming costs, measured in one run: time to the `trace` event, and per-token overhead.

    uv run python -m bench.stream [--streams 20]

Starts an MLflow server and three APIs on loopback (offline model, no token delay): tracing
off; tracing on with autolog's per-token span events kept (TRACE_TOKEN_EVENTS=true); tracing
on with them dropped (the default). Streams alternate between the three, one at a time.
Prints, per configuration, the median time to the `trace` event and to `done`, the median
per-token time, and each against the untraced baseline; and the stored size of one trace.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import httpx
from httpx_sse import connect_sse

from bench.harness import apis, wait_for_trace

BODY = {"topic": "How honeybees pollinate crops", "target_words": 600}


def one_stream(client: httpx.Client, url: str) -> tuple[float, float, int, str | None]:
    started = time.perf_counter()
    first = None
    tokens = 0
    trace_id = None
    with connect_sse(
        client, "POST", f"{url}/write", json=BODY, headers={"Accept": "text/event-stream"}
    ) as source:
        for event in source.iter_sse():
            if first is None:
                first = time.perf_counter() - started
                trace_id = json.loads(event.data)["trace_id"]
            if event.event == "token":
                tokens += 1
    return (first or 0) * 1000, (time.perf_counter() - started) * 1000, tokens, trace_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=20, help="per configuration")
    args = parser.parse_args()
    configs = {
        "untraced": {"TRACING_ENABLED": "false"},
        "token events kept": {"TRACE_TOKEN_EVENTS": "true"},
        "token events dropped": {"TRACE_TOKEN_EVENTS": "false"},
    }
    with apis(configs) as (mlflow_url, servers), httpx.Client(timeout=120) as client:
        results: dict[str, list[tuple[float, float, int, str | None]]] = {n: [] for n in servers}
        for i in range(args.streams + 2):  # two warm-up rounds
            for name, api in servers.items():
                outcome = one_stream(client, api.url)
                if i >= 2:
                    results[name].append(outcome)

        base = results["untraced"]
        base_done = statistics.median(r[1] for r in base)
        base_token = statistics.median(r[1] / r[2] for r in base)
        print(f"{'':>22} {'to trace':>9} {'to done':>9} {'per token':>10} {'x base':>7}")
        for name, rows in results.items():
            to_trace = statistics.median(r[0] for r in rows)
            done = statistics.median(r[1] for r in rows)
            per_token = statistics.median(r[1] / r[2] for r in rows)
            print(
                f"{name:>22} {to_trace:7.1f}ms {done:7.0f}ms {per_token * 1000:8.0f}us "
                f"{done / base_done:7.2f}"
            )
        for name in ("token events kept", "token events dropped"):
            per_token = statistics.median(r[1] / r[2] for r in results[name])
            print(f"{name}: +{(per_token - base_token) * 1000:.0f} us per token over untraced")
            trace = wait_for_trace(mlflow_url, str(results[name][-1][3]))
            events = sum(len(s.events) for s in trace.data.spans)
            print(
                f"{name}: stored trace {len(trace.to_json()) / 1024:.0f} KiB, {events} span events"
            )


if __name__ == "__main__":
    main()
