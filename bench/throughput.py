"""Sustained articles per second with tracing on and off, and whether every trace was stored.

    uv run python -m bench.throughput [--concurrency 8 32] [--duration 60] [--mlflow-workers 1]
        [--postgres]
        [--setting OFFLINE_FIRST_TOKEN_MS=300 --setting OFFLINE_TOKEN_DELAY_MS=20 ...]
        [--traced-setting MLFLOW_TRACE_QUEUE_SIZE=100 ...]

Starts an MLflow server and two APIs on loopback (offline model; no delay unless --setting gives
one, the worst case for tracing's share): one traced
into the server, one with TRACING_ENABLED=false. For each concurrency N, N clients loop
POST /write against one API for the duration, then against the other (one configuration at a
time, so they never share the CPU; the order alternates between concurrencies so a drift in
machine load does not always favour the same one). Prints, per configuration, successes,
failures by status, articles per second and latency median and p95; the traced/untraced
throughput ratio; then, after waiting for the traced API's background exporter to drain, how
many of the trace ids the successful responses returned are stored in the tracking server
(finalized, with all their spans): `lost` is the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import httpx
from mlflow import MlflowClient

from bench.harness import (
    Server,
    apis,
    cpu_seconds,
    experiment_name,
    finalized,
    machine_busy_seconds,
    main_thread_cpu_seconds,
    tracking_db,
    tracking_server_pid,
)
from bench.phases import Phase, report_phase, report_ratios
from bench.storage import log_markers, stored_span_counts, wait_until_stored
from bench.write_latency import TOPICS
from tracing import internals

# Settings both APIs share. The semaphore must never be what limits throughput here: a 503
# "busy" would count as a failure and flatter the configuration that hits it more.
COMMON = {"MAX_CONCURRENT_WRITES": "64", "RUNTIME_STATS_ENABLED": "true"}


def cpu_snapshot(apis: list[Server], mlflow_pid: int) -> dict[str, float]:
    """CPU seconds so far of each party (the API: every process serving the load). The machine
    is shared: what nobody here used is other processes' load, printed so a phase that ran
    beside it can be recognised."""
    times = os.times()
    return {
        "API": sum(cpu_seconds(api.process.pid) for api in apis),
        "event loop": sum(main_thread_cpu_seconds(api.process.pid) for api in apis),
        "MLflow server": cpu_seconds(mlflow_pid),
        "this client": times.user + times.system,
        "machine": machine_busy_seconds(),
    }


async def run_load(
    api: Server | list[Server],
    mlflow_pid: int,
    phase: Phase,
    duration_s: float,
    keepalive: bool = True,
) -> None:
    """`phase.concurrency` clients each loop POST /write until the duration is over; with
    several APIs (replicas), client n posts to the n-th, round the list, as a balancer would.

    Requests in flight at the deadline finish and count: cancelling them would leave the
    server cancelling runs, which is a different workload; the phase's time runs to the
    last response instead. Without `keepalive`, each request is a connection of its own, so
    uvicorn's workers, which share one listening socket, each take their share of them.
    """
    targets = api if isinstance(api, list) else [api]
    limits = httpx.Limits(
        max_connections=phase.concurrency + 4,
        max_keepalive_connections=None if keepalive else 0,
    )
    timeout = httpx.Timeout(300)  # far above any article at these concurrencies
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        started = time.perf_counter()
        deadline = started + duration_s

        async def client_loop(n: int) -> None:
            url = f"{targets[n % len(targets)].url}/write"
            while time.perf_counter() < deadline:
                body = {"topic": TOPICS[n % len(TOPICS)]}
                n += phase.concurrency
                sent = time.perf_counter()
                try:
                    answer = await client.post(url, json=body)
                except httpx.HTTPError as exc:
                    phase.failures[type(exc).__name__] += 1
                    continue
                if answer.status_code != 200:
                    phase.failures[str(answer.status_code)] += 1
                    continue
                phase.latencies_ms.append((time.perf_counter() - sent) * 1000)
                if trace_id := answer.json().get("trace_id"):
                    phase.trace_ids.append(trace_id)

        phase.started_ms = int(time.time() * 1000)
        before = cpu_snapshot(targets, mlflow_pid)
        phase.mlflow_cpu_at_start = before["MLflow server"]
        await asyncio.gather(*(client_loop(n) for n in range(phase.concurrency)))
        phase.seconds = time.perf_counter() - started
        after = cpu_snapshot(targets, mlflow_pid)
        phase.cpu = {key: after[key] - before[key] for key in before}


def runtime(api: Server) -> dict[str, int]:
    return httpx.get(f"{api.url}/debug/runtime", timeout=10).json()


def report_storage(
    mlflow_url: str, mlflow_pid: int, api: Server | list[Server], phase: Phase
) -> None:
    """Waits for the traced API's exporter to drain, then counts what the server holds."""
    client = MlflowClient(tracking_uri=mlflow_url)
    experiment = client.get_experiment_by_name(experiment_name(phase.config))
    assert experiment is not None, "the traced API created its experiment at start"
    infos, seen_s = wait_until_stored(
        client, experiment.experiment_id, phase.trace_ids, phase.started_ms
    )
    ids = list(dict.fromkeys(phase.trace_ids))
    present = [t for t in ids if t in infos]
    done = [t for t in present if finalized(infos[t])]
    spans = stored_span_counts(tracking_db(mlflow_url), present)
    whole = [t for t in done if spans.get(t, 0) == internals.recorded_span_count(infos[t])]
    lost = len(ids) - len(whole)
    print(
        f"   traces: {len(ids)} ids returned; stored {len(present)}, finalized {len(done)}, "
        f"with all their spans {len(whole)}: lost = {lost}"
    )
    # The server's CPU from the phase's start until the drain ended, polling included.
    server_cpu_ms = (cpu_seconds(mlflow_pid) - phase.mlflow_cpu_at_start) * 1000
    print(
        f"   stored {len(done) / seen_s:.2f} traces/s (first request to last trace stored, "
        f"{seen_s:.0f} s; the exporter finished {seen_s - phase.seconds:.1f} s after the last "
        f"response); MLflow server CPU {server_cpu_ms / max(len(done), 1):.0f} ms/trace"
    )
    for each in api if isinstance(api, list) else [api]:
        state = runtime(each)
        markers = log_markers(each)
        print(
            f"   API after drain: {state['in_memory_traces']} in-memory traces, "
            f"{state['tasks']} tasks; drop/failure messages in its log since it started: "
            f"{dict(markers) or 'none'}",
            flush=True,
        )


def warm_up(api: Server) -> None:
    """A few articles first: imports, the prompt registry and BM25 caches load on first use."""
    with httpx.Client(base_url=api.url, timeout=120) as client:
        for topic in TOPICS[:3]:
            client.post("/write", json={"topic": topic}).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--duration", type=float, default=60, help="seconds per configuration")
    parser.add_argument(
        "--mlflow-workers", type=int, default=1, help="the tracking server's worker processes"
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="the tracking server on a PostgreSQL database (Debian's postgresql package)",
    )
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an app setting for both APIs, e.g. OFFLINE_FIRST_TOKEN_MS=300 with "
        "OFFLINE_TOKEN_DELAY_MS=20 for a hosted model's pace; repeatable",
    )
    parser.add_argument(
        "--traced-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an app setting for the traced API only, e.g. MLFLOW_TRACE_QUEUE_SIZE=100; repeatable",
    )
    args = parser.parse_args()
    extra = dict(setting.split("=", 1) for setting in args.traced_setting)
    both = {**COMMON, **dict(setting.split("=", 1) for setting in args.setting)}
    configs = {"untraced": {**both, "TRACING_ENABLED": "false"}, "traced": {**both, **extra}}
    with apis(configs, mlflow_workers=args.mlflow_workers, postgres=args.postgres) as (
        mlflow_url,
        servers,
    ):
        for api in servers.values():
            warm_up(api)
        order = list(servers)
        mlflow_pid = tracking_server_pid(mlflow_url)
        for concurrency in args.concurrency:
            print(
                f"concurrency {concurrency}, {args.duration:.0f} s per configuration, "
                f"MLflow server workers {args.mlflow_workers}"
                + (" on PostgreSQL" if args.postgres else "")
                + (f", both APIs {args.setting}" if args.setting else "")
                + (f", traced API also {extra}" if extra else ""),
                flush=True,
            )
            phases: dict[str, Phase] = {}
            for name in order:
                api = servers[name]
                phase = phases[name] = Phase(name, concurrency)
                asyncio.run(run_load(api, mlflow_pid, phase, args.duration))
                report_phase(phase)
                if name == "traced":
                    # Also keeps the exporter's backlog from running into the next phase.
                    report_storage(mlflow_url, mlflow_pid, api, phase)
            report_ratios(phases["traced"], phases["untraced"])
            order.reverse()


if __name__ == "__main__":
    main()
