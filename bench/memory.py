"""Memory of the traced API over many articles: does anything pile up?

    uv run python -m bench.memory [--requests 1000] [--baseline 100] [--concurrency 8]
        [--setting TRACING_ENABLED=false ...]

Starts an MLflow server and one traced API on loopback (offline model, no token delay,
RUNTIME_STATS_ENABLED=true). Sends `--baseline` articles, `--concurrency` at a time, then
more up to `--requests`. At each checkpoint (the baseline, every `--every` articles after it,
and the end) it waits for the API's background exporter to store every trace so far in the
tracking server and for MLflow's in-memory traces to reach 0, lets the process settle, and
reads GET /debug/runtime: resident memory (RSS), asyncio tasks, in-memory traces. Prints each
checkpoint and the growth from the baseline to the end in MB and %. `--setting` passes more
environment to the API: TRACING_ENABLED=false for an untraced control, or MALLOC_ARENA_MAX=2
to see how much of a growth is glibc's per-thread arenas rather than live objects.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx
from mlflow import MlflowClient

from bench.harness import Server, apis, experiment_name, finalized, trace_infos
from bench.write_latency import TOPICS

MB = 1024 * 1024


async def send(api: Server, first: int, count: int, concurrency: int) -> tuple[list[str], int]:
    """`count` articles, `concurrency` at a time; their trace ids and the number that failed."""
    trace_ids: list[str] = []
    failed = 0
    numbers = iter(range(first, first + count))
    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=api.url, limits=limits, timeout=300) as client:

        async def client_loop() -> None:
            nonlocal failed
            for n in numbers:  # one shared iterator: each number is taken once
                answer = await client.post("/write", json={"topic": TOPICS[n % len(TOPICS)]})
                if answer.status_code != 200:
                    failed += 1
                elif trace_id := answer.json().get("trace_id"):
                    trace_ids.append(trace_id)

        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    return trace_ids, failed


def runtime(api: Server) -> dict[str, int]:
    return httpx.get(f"{api.url}/debug/runtime", timeout=10).json()


def drain(
    api: Server, client: MlflowClient, experiment_id: str, trace_ids: list[str], timeout_s: float
) -> float:
    """Waits until every trace id is stored, finalized, and MLflow holds no trace in memory;
    returns the seconds it took. A trace still queued for export is memory that would be
    misread as growth."""
    started = time.monotonic()
    expected = set(trace_ids)
    while time.monotonic() - started < timeout_s:
        if runtime(api)["in_memory_traces"] == 0:
            if not expected:  # untraced
                return time.monotonic() - started
            stored = {i.trace_id for i in trace_infos(client, experiment_id) if finalized(i)}
            if expected <= stored:
                return time.monotonic() - started
        time.sleep(1)
    raise TimeoutError(f"traces not all stored after {timeout_s:.0f} s")


def settled_rss(api: Server, settle_s: float, samples: int = 5) -> tuple[float, dict[str, int]]:
    """The median RSS (MB) of a few readings a second apart after `settle_s` of quiet, and
    the last reading. The median keeps one reading taken mid-collection from deciding."""
    time.sleep(settle_s)
    readings = []
    for _ in range(samples):
        state = runtime(api)
        readings.append(state["rss_bytes"] / MB)
        time.sleep(1)
    return statistics.median(readings), state


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000, help="articles in all")
    parser.add_argument("--baseline", type=int, default=100, help="articles before the baseline")
    parser.add_argument("--every", type=int, default=300, help="articles between checkpoints")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--settle", type=float, default=5, help="seconds of quiet before a read")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="more environment for the API, e.g. TRACING_ENABLED=false; repeatable",
    )
    args = parser.parse_args()
    checkpoints = sorted({*range(args.baseline, args.requests, args.every), args.requests})
    extra = dict(setting.split("=", 1) for setting in args.setting)
    env = {"MAX_CONCURRENT_WRITES": "64", "RUNTIME_STATS_ENABLED": "true", **extra}
    with apis({"api": env}) as (mlflow_url, servers):
        api = servers["api"]
        client = MlflowClient(tracking_uri=mlflow_url)
        # None when untraced: the API only creates its experiment to trace into it.
        experiment = client.get_experiment_by_name(experiment_name("api"))
        experiment_id = experiment.experiment_id if experiment else ""
        if extra:
            print(f"API settings also {extra}")
        idle = runtime(api)
        print(
            f"before any article: RSS {idle['rss_bytes'] / MB:.1f} MB, {idle['tasks']} tasks, "
            f"{idle['in_memory_traces']} in-memory traces",
            flush=True,
        )
        print(
            f"{'articles':>8} {'RSS MB':>8} {'vs base':>8} {'tasks':>6} {'in-mem':>7} "
            f"{'failed':>7} {'drain s':>8} {'art/s':>6}",
            flush=True,
        )
        sent, failed = 0, 0
        trace_ids: list[str] = []
        base_rss: float | None = None
        for checkpoint in checkpoints:
            started = time.monotonic()
            ids, bad = asyncio.run(send(api, sent, checkpoint - sent, args.concurrency))
            rate = (checkpoint - sent) / (time.monotonic() - started)
            sent, failed = checkpoint, failed + bad
            trace_ids += ids
            drained_s = drain(api, client, experiment_id, trace_ids, timeout_s=300)
            rss, state = settled_rss(api, args.settle)
            base_rss = rss if base_rss is None else base_rss
            print(
                f"{checkpoint:8d} {rss:8.1f} {rss - base_rss:+8.1f} {state['tasks']:6d} "
                f"{state['in_memory_traces']:7d} {failed:7d} {drained_s:8.1f} {rate:6.2f}",
                flush=True,
            )
        assert base_rss is not None
        growth = rss - base_rss
        print(
            f"RSS after {checkpoints[0]}: {base_rss:.1f} MB; after {sent}: {rss:.1f} MB; "
            f"growth {growth:+.1f} MB ({growth / base_rss:+.1%}); {len(trace_ids)} traces stored"
        )
        print(
            f"at the end: {state['tasks']} asyncio tasks (idle before any article: "
            f"{idle['tasks']}), {state['in_memory_traces']} in-memory traces"
        )


if __name__ == "__main__":
    main()
