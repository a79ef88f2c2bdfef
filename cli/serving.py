"""`writer serve`, `writer up` (MLflow and the API together: `make run`), `writer offline-model`."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from cli.prompts import sync_prompts, use_mlflow
from cli.settings import Settings


def add(commands: Any) -> dict[str, Callable[[argparse.Namespace, Settings], int]]:
    serve = commands.add_parser("serve", help="serve the API (API_HOST, API_PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (default: API_WORKERS)")
    up = commands.add_parser("up", help="start an MLflow server and the API (`make run`)")
    up.add_argument(
        "--backend",
        help="the server's database, e.g. postgresql://user:pw@host:5432/mlflow "
        "(default: MLFLOW_BACKEND_STORE_URI, else sqlite in MLFLOW_DATA_DIR)",
    )
    up.add_argument(
        "--artifacts",
        help="with --backend: where served artifacts go, a folder or s3://bucket/path "
        "(default: MLFLOW_ARTIFACTS_DESTINATION, else MLFLOW_DATA_DIR/artifacts)",
    )
    offline = commands.add_parser("offline-model", help="serve the offline model over HTTP")
    offline.add_argument("--port", type=int, default=8100)
    offline.add_argument("--host", default="127.0.0.1")

    def run_serve(args: argparse.Namespace, settings: Settings) -> int:
        if args.workers is not None:
            if not 1 <= args.workers <= 32:
                serve.error("--workers: 1 to 32")
            settings = settings.model_copy(update={"api_workers": args.workers})
        _serve(settings)
        return 0

    def offline_model(args: argparse.Namespace, settings: Settings) -> int:
        _offline_model(args.port, args.host, settings)
        return 0

    return {
        "serve": run_serve,
        "up": lambda args, settings: _up(
            settings.model_copy(
                update={
                    "mlflow_backend_store_uri": args.backend or settings.mlflow_backend_store_uri,
                    "mlflow_artifacts_destination": args.artifacts
                    or settings.mlflow_artifacts_destination,
                }
            )
        ),
        "offline-model": offline_model,
    }


def _serve(settings: Settings, environment: dict[str, str] | None = None) -> None:
    """The API under uvicorn: in this process, or in API_WORKERS processes on one port, each of
    which builds the app from the environment (`environment`: settings the caller changed)."""
    import uvicorn

    from api.main import create_app
    from service import logs

    options: dict[str, Any] = {
        "host": settings.api_host,
        "port": settings.api_port,
        # On SIGTERM, requests in flight get this long to finish before they are cancelled
        # (their traces then say so); queued traces are written after either way. With
        # workers, uvicorn passes the SIGTERM on to each, and each drains its own.
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
        "log_config": None,  # the app's own (service.logs: LOG_FORMAT), uvicorn's lines included
    }
    if settings.api_workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    os.environ.update(environment or {})
    logs.configure(settings.log_format, settings.log_level, settings.secrets())  # the parent's
    uvicorn.run("api.main:create_app", factory=True, workers=settings.api_workers, **options)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) != 0


def _up(settings: Settings) -> int:
    from agent.prompts import PromptFileError
    from service import tracking_server

    host = "127.0.0.1"
    for name, port in (("MLFLOW_PORT", settings.mlflow_port), ("API_PORT", settings.api_port)):
        if not _port_free(host, port):
            print(f"error: port {port} is in use; set {name} to a free port", file=sys.stderr)
            return 2
    mlflow_url = f"http://{host}:{settings.mlflow_port}"
    # uvicorn re-raises the SIGTERM it shut down on; as an interrupt it lets `finally` below
    # stop the MLflow server too, instead of leaving it running.
    signal.signal(signal.SIGTERM, _interrupt)
    backend = settings.mlflow_backend_store_uri
    where = "a database" if backend else f"{settings.mlflow_data_dir}/"
    print(f"Starting MLflow at {mlflow_url} (data in {where})...", flush=True)
    server = tracking_server.start(
        settings.mlflow_port,
        settings.mlflow_data_dir,
        host,
        catalog_uri=settings.mlflow_model_catalog_uri,
        workers=settings.mlflow_server_workers,
        backend=backend,
        artifacts=settings.mlflow_artifacts_destination,
    )
    try:
        tracking_server.wait_until_healthy(mlflow_url, server)
        api_settings = settings.model_copy(
            update={
                "mlflow_tracking_uri": mlflow_url,
                "mlflow_registry_uri": None,
                "api_host": host,
            }
        )
        print("Syncing prompts/ into the registry:")
        use_mlflow(api_settings)
        try:
            sync_prompts(api_settings, alias=None, dry_run=False)
        except PromptFileError as exc:  # the API still starts, and /ready says what is wrong
            print(f"error: {exc}; nothing was registered", file=sys.stderr)
        api_url = f"http://{host}:{settings.api_port}"
        print(
            f"\n  MLflow UI   {mlflow_url}\n  Page        {api_url}/\n"
            f"  API         {api_url}   (docs: {api_url}/docs)\n"
        )
        print(
            f"  Try:  curl -s -X POST {api_url}/write -H 'Content-Type: application/json' "
            '-d \'{"topic": "How honeybees pollinate crops"}\'\n',
            flush=True,
        )
        # API workers are processes of their own, which read their settings from the
        # environment: the same changes, there.
        os.environ.pop("MLFLOW_REGISTRY_URI", None)
        _serve(api_settings, {"MLFLOW_TRACKING_URI": mlflow_url, "API_HOST": host})
    except KeyboardInterrupt:
        pass
    finally:
        tracking_server.stop(server)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _offline_model(port: int, host: str, settings: Settings) -> None:
    import uvicorn

    from offline_model.server import create_app

    app = create_app(settings.offline_token_delay_ms, settings.offline_first_token_ms)
    uvicorn.run(app, host=host, port=port)
