"""What sending the spans to an OTLP backend too costs: POST /write traced to MLflow alone
against traced to MLflow and, by OTLP/HTTP, to a second MLflow server (which takes OTLP at
/v1/traces), measured in the same run.

    uv run python -m bench.dual_export [--requests 30]

Offline model, no token delay, one request at a time round the two APIs, so both see the same
machine noise; prints each median, p95 and the ratio to MLflow alone.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import httpx
import mlflow

from agent import tracking_server
from bench.harness import apis, free_port
from bench.write_latency import report_medians, round_robin


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30, help="per configuration")
    args = parser.parse_args()
    port = free_port()
    backend = tracking_server.start(port, Path(tempfile.mkdtemp(prefix="bench-otlp-")), jobs=False)
    backend_url = f"http://127.0.0.1:{port}"
    try:
        tracking_server.wait_until_healthy(backend_url, backend, timeout_s=120)
        experiment = mlflow.MlflowClient(backend_url).create_experiment("from-otlp")
        dual = {
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{backend_url}/v1/traces",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": f"x-mlflow-experiment-id={experiment}",
        }
        configs = {"mlflow": {}, "dual": dual}
        with apis(configs) as (_, servers), httpx.Client(timeout=120) as client:
            timings, _ = round_robin(client, servers, args.requests)
            report_medians(timings, "mlflow")
    finally:
        tracking_server.stop(backend)


if __name__ == "__main__":
    main()
