"""What OpenTelemetry export costs: POST /write traced to MLflow alone, against traced to MLflow
and, by OTLP/HTTP, to a second MLflow server (which takes OTLP at /v1/traces), and against
MLflow alone plus span metrics sent over OTLP/HTTP, all measured in the same run.

    uv run python -m bench.dual_export [--requests 30] [--metric-interval-ms 1000]

Offline model, no token delay, one request at a time round the three APIs, so all see the same
machine noise; prints each median, p95 and the ratio to MLflow alone. The metrics go to a small
receiver here that answers every export and counts the bytes, every `--metric-interval-ms`
(OpenTelemetry's default is 60000: the default measures the export at 60 times its usual pace,
the worst case).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import mlflow

from bench.harness import apis, free_port
from bench.write_latency import report_medians, round_robin
from service import tracking_server


@contextmanager
def metrics_receiver() -> Iterator[tuple[str, list[int]]]:
    """An OTLP/HTTP metrics endpoint that takes every export (an empty protobuf answer is a
    valid ExportMetricsServiceResponse) and records the size of each."""
    sizes: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            sizes.append(len(self.rfile.read(int(self.headers.get("Content-Length", 0)))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/metrics", sizes
    finally:
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30, help="per configuration")
    parser.add_argument("--metric-interval-ms", type=int, default=1000)
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
        with metrics_receiver() as (metrics_url, sizes):
            metrics = {
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": metrics_url,
                "OTEL_METRIC_EXPORT_INTERVAL": str(args.metric_interval_ms),
            }
            configs = {"mlflow": {}, "dual": dual, "metrics": metrics}
            with apis(configs) as (_, servers), httpx.Client(timeout=120) as client:
                timings, _ = round_robin(client, servers, args.requests)
                report_medians(timings, "mlflow")
            print(f"  metrics: {len(sizes)} exports, {sum(sizes) // 1024} KiB in all")
    finally:
        tracking_server.stop(backend)


if __name__ == "__main__":
    main()
