"""Traced throughput with one API worker, two workers, and two replicas, on one MLflow server
whose data is in PostgreSQL; every trace counted.

    uv run python -m bench.workers [--concurrency 8] [--duration 45]

Starts a PostgreSQL server (Debian's `postgresql` package) and an MLflow server on it, then,
one configuration at a time so they never share the CPU: `writer serve --workers 1`, `writer
serve --workers 2`, and two `writer serve` processes on two ports (replicas; the clients take
turns between them, as a balancer would). Each is traced into its own experiment; offline
model, no latency. Each request is a connection of its own, so the two workers, which share one
listening socket, each take their share. Prints each phase, its storage check (`lost`), and the
throughput and latency ratios against one worker.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.harness import Server, experiment_name, free_port, start_postgres_mlflow
from bench.phases import Phase, report_phase, report_ratios
from bench.throughput import COMMON, report_storage, run_load, warm_up
from testbed.servers import clean_env, start_process, wait_healthy

BASELINE = "1 worker"


@contextmanager
def serving(
    work: Path, mlflow_url: str, config: str, workers: int, replicas: int
) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for _ in range(replicas):
            port = free_port()
            env = clean_env(
                **COMMON,
                API_PORT=str(port),
                MLFLOW_TRACKING_URI=mlflow_url,
                MLFLOW_EXPERIMENT_NAME=experiment_name(config),
            )
            command = [sys.executable, "-m", "cli", "serve", "--workers", str(workers)]
            started.append(start_process(command, work, env, port))
        for server in started:
            wait_healthy(server, "/ready", timeout_s=120)
            warm_up(server)
        yield started
    finally:
        for server in started:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=45, help="seconds per configuration")
    args = parser.parse_args()
    configs = {BASELINE: (1, 1), "2 workers": (2, 1), "2 replicas": (1, 2)}
    work = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    phases: dict[str, Phase] = {}
    with ExitStack() as stack:
        mlflow_url, mlflow_pid = stack.enter_context(start_postgres_mlflow(work))
        print(
            f"concurrency {args.concurrency}, {args.duration:.0f} s per configuration, "
            "MLflow (1 worker) on PostgreSQL",
            flush=True,
        )
        for config, (workers, replicas) in configs.items():
            with serving(work, mlflow_url, config, workers, replicas) as apis:
                phase = phases[config] = Phase(config, args.concurrency)
                asyncio.run(run_load(apis, mlflow_pid, phase, args.duration, keepalive=False))
                report_phase(phase)
                report_storage(mlflow_url, mlflow_pid, apis, phase)
    for config, phase in phases.items():
        if config != BASELINE:
            report_ratios(phase, phases[BASELINE], label=f"{config} / {BASELINE}")


if __name__ == "__main__":
    main()
