"""Processes the tests and benchmarks start: the API under uvicorn, the offline model, and how
to wait for them and for the traces they write. Loopback only."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mlflow
from mlflow.entities import Trace, TraceInfo

from service import tracking_server
from tracing import internals

# A tracking server's settings for tests of its AI Gateway. Only the test's server is told these.
GATEWAY_SERVER_ENV = {
    # The gateway refuses `http://` and loopback providers unless told otherwise.
    "MLFLOW_GATEWAY_API_BASE_ALLOWED_SCHEMES": "http,https",
    "MLFLOW_GATEWAY_API_BASE_ALLOW_PRIVATE_IPS": "true",
    # Score traces as soon as they are stored, not five minutes after they started.
    "MLFLOW_ONLINE_SCORING_DEFAULT_TRACE_COMPLETION_BUFFER_SECONDS": "0",
}
# Creating a gateway secret derives a key (PBKDF2): seconds on two busy cores.
ADMIN_TIMEOUT_S = 60

# Settings the tests never inherit from the developer's shell or .env.
SCRUBBED = (
    "OPENAI_",
    "LLM_",
    "MLFLOW_",
    "SOURCES_DIR",
    "PROMPTS_DIR",
    "TRACING_",
    "MAX_",
    "API_",
    "CHECKPOINT_",
    "OTEL_",
    "RATE_LIMIT_",
)
# Every process the tests and benchmarks start comes from one address, 127.0.0.1, which the
# rate limits would count as one caller; tests/api/security/test_ratelimits.py sets them itself.
UNLIMITED = {"RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_IN_FLIGHT": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    env.update(UNLIMITED)
    env.update(overrides)
    return env


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_healthy(server: Server, path: str = "/health", timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.output()[-3000:]}")
        try:
            if httpx.get(server.url + path, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{server.url} not healthy:\n{server.output()[-3000:]}")


@contextlib.contextmanager
def mlflow_server(data: Path, timeout_s: float = 180, **options: Any) -> Iterator[str]:
    """An MLflow tracking server on a free port (`options`: `tracking_server.start`'s, such as
    `backend`), its URL once healthy; stopped on exit."""
    port = free_port()
    process = tracking_server.start(port, data, jobs=options.pop("jobs", False), **options)
    url = f"http://127.0.0.1:{port}"
    try:
        tracking_server.wait_until_healthy(url, process, timeout_s=timeout_s)
        yield url
    finally:
        tracking_server.stop(process)


def start_process(command: list[str], workdir: Path, env: dict[str, str], port: int) -> Server:
    log = workdir / f"server-{port}.log"
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    return Server(f"http://127.0.0.1:{port}", process, log)


def start_api(workdir: Path, **env: str) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    server = start_process(command, workdir, clean_env(**env), port)
    wait_healthy(server)
    return server


def start_traced_api(workdir: Path, mlflow_url: str, experiment: str, **env: str) -> Server:
    """The API tracing into `mlflow_url`, in an experiment of its own."""
    return start_api(
        workdir, MLFLOW_TRACKING_URI=mlflow_url, MLFLOW_EXPERIMENT_NAME=experiment, **env
    )


def provider_env(provider: Server) -> dict[str, str]:
    """Settings that send the API's model calls to an OpenAI-compatible server over HTTP."""
    return {"LLM_MODEL": "openai:offline-writer", "OPENAI_BASE_URL": f"{provider.url}/v1"}


def start_offline_model(workdir: Path, **env: str) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "cli", "offline-model", "--port", str(port)]
    server = start_process(command, workdir, clean_env(**env), port)
    wait_healthy(server, "/v1/models")
    return server


def writer_cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs the `writer` command line in a subprocess with a clean environment."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=180,
    )


def wait_for_trace(mlflow_url: str, trace_id: str, timeout_s: float = 60) -> Trace:
    """The finished, fully stored trace; the API writes traces in the background: poll."""
    client = mlflow.MlflowClient(tracking_uri=mlflow_url)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            trace = client.get_trace(trace_id)
            if trace.info.state.value != "IN_PROGRESS" and finalized(trace.info):
                return trace
        except Exception:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"trace {trace_id} was not stored in {timeout_s} s")
        time.sleep(0.3)


@dataclass
class Outcome:
    status: int | None  # None: no answer at all (connection refused or cut)
    trace_id: str | None


class Load:
    """Workers posting articles to the API in a loop, on a background thread, until stopped."""

    TOPICS = ("Wind power", "Coral reefs", "Sleep and caffeine", "The printing press")

    def __init__(self, api_url: str, workers: int) -> None:
        self.api_url = api_url
        self.workers = workers
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> list[Outcome]:
        self._stop.set()
        self._thread.join(timeout=120)
        return self.outcomes

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=120) as client:
            await asyncio.gather(*(self._worker(client, n) for n in range(self.workers)))

    async def _worker(self, client: httpx.AsyncClient, n: int) -> None:
        sent = n
        while not self._stop.is_set():
            topic = self.TOPICS[sent % len(self.TOPICS)]
            sent += self.workers
            try:
                answer = await client.post(f"{self.api_url}/write", json={"topic": topic})
            except httpx.TransportError:
                self.outcomes.append(Outcome(None, None))
                await asyncio.sleep(0.2)
                continue
            trace_id = answer.headers.get("X-Trace-Id") or None
            self.outcomes.append(Outcome(answer.status_code, trace_id))


def finalized(info: TraceInfo) -> bool:
    """Whether the exporter's last call, the trace's info (tags, metadata), has arrived.

    Spans are stored as they end, which can mark a trace finished before that."""
    return internals.info_finalized(info)


def trace_infos(
    client: mlflow.MlflowClient, experiment_id: str, since_ms: int = 0
) -> list[TraceInfo]:
    """Every trace the server holds in the experiment that started at or after `since_ms`."""
    infos: list[TraceInfo] = []
    token: str | None = None
    while True:
        page = client.search_traces(
            locations=[experiment_id],
            filter_string=f"trace.timestamp_ms >= {since_ms}",
            max_results=500,
            page_token=token,
            include_spans=False,
        )
        infos.extend(trace.info for trace in page)
        if not (token := page.token):
            return infos


def stored_traces(mlflow_url: str, experiment: str) -> dict[str, TraceInfo]:
    """Every trace of the experiment whose final info is stored, by id."""
    client = mlflow.MlflowClient(tracking_uri=mlflow_url)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return {}
    return {i.trace_id: i for i in trace_infos(client, found.experiment_id) if finalized(i)}


def create_gateway_endpoint(
    mlflow_url: str,
    name: str,
    provider: Server | str,
    model: str,
    fallbacks: Sequence[tuple[Server | str, str]] = (),
) -> dict[str, Any]:
    """An AI Gateway endpoint (API keys, model definitions, endpoint) whose providers are
    OpenAI-compatible servers, through the tracking server's REST API, as the UI does.

    `provider` is a server, or the root URL of one (which may be dead); `fallbacks` are
    (provider, model) pairs the gateway tries in order when the one before fails. Returns the
    endpoint as stored: its `experiment_id` holds the gateway's own traces.
    """
    api = f"{mlflow_url}/api/3.0/mlflow/gateway"

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = httpx.post(f"{api}/{path}", json=body, timeout=ADMIN_TIMEOUT_S)
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text}"
        return dict(answer.json())

    def definition(index: int, where: Server | str, model: str) -> str:
        root = where.url if isinstance(where, Server) else where
        secret = post(
            "secrets/create",
            {
                "secret_name": f"{name}-key-{index}",
                "secret_value": {"api_key": "offline"},
                "provider": "openai",
                "auth_config": {"api_base": f"{root}/v1"},
            },
        )["secret"]
        made = post(
            "model-definitions/create",
            {
                "name": f"{name}-model-{index}",
                "secret_id": secret["secret_id"],
                "provider": "openai",
                "model_name": model,
            },
        )["model_definition"]
        return str(made["model_definition_id"])

    configs: list[dict[str, Any]] = [
        {"model_definition_id": definition(0, provider, model), "linkage_type": "PRIMARY"}
    ]
    for order, (where, fallback_model) in enumerate(fallbacks, start=1):
        configs.append(
            {
                "model_definition_id": definition(order, where, fallback_model),
                "linkage_type": "FALLBACK",
                "fallback_order": order,
            }
        )
    body: dict[str, Any] = {"name": name, "model_configs": configs}
    if fallbacks:
        body["fallback_config"] = {"strategy": "SEQUENTIAL", "max_attempts": len(fallbacks)}
    return dict(post("endpoints/create", body)["endpoint"])


def start_traced_apis(
    workdir: Path, mlflow_url: str, experiment: str, envs: Sequence[dict[str, str]]
) -> list[Server]:
    """Several APIs tracing into `mlflow_url`, each with its own settings, started at once
    (each spends seconds importing) and then waited for."""
    servers: list[Server] = []
    try:
        for env in envs:
            port = free_port()
            while any(s.url.endswith(f":{port}") for s in servers):  # freed ports get reused
                port = free_port()
            command = [
                sys.executable,
                *("-m", "uvicorn", "--factory", "api.main:create_app"),
                *("--host", "127.0.0.1", "--port", str(port)),
            ]
            traced = {"MLFLOW_TRACKING_URI": mlflow_url, "MLFLOW_EXPERIMENT_NAME": experiment}
            servers.append(start_process(command, workdir, clean_env(**traced, **env), port))
        for server in servers:
            wait_healthy(server)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


@contextlib.contextmanager
def gateway_server(
    work: Path, *, jobs: bool, env: dict[str, str] | None = None, backend: str | None = None
) -> Iterator[tuple[str, Server]]:
    """A tracking server whose AI Gateway may call loopback providers, and the offline model
    on its own port to be one: (the server's URL, the model). Both stop on exit. `backend`: a
    database for the server instead of sqlite."""
    port = free_port()
    process = tracking_server.start(
        port, work / "mlflow", jobs=jobs, env=env or GATEWAY_SERVER_ENV, backend=backend
    )
    url = f"http://127.0.0.1:{port}"
    model = None
    try:
        model = start_offline_model(work)  # while the MLflow server starts
        tracking_server.wait_until_healthy(url, process, timeout_s=180)
        yield url, model
    finally:
        tracking_server.stop(process)
        if model is not None:
            model.stop()


def traces_linked_to(
    mlflow_url: str, experiment_id: str, prompt: str, trace_id: str, timeout_s: float = 30
) -> set[str]:
    """Ids of the experiment's traces linked to `prompt` ('name/version'), once `trace_id` is
    among them or the time is up. MLflow links a prompt version to a trace in the background,
    after the trace is stored. Newest first: other tests fill the same experiment."""
    client = mlflow.MlflowClient(tracking_uri=mlflow_url)
    deadline = time.monotonic() + timeout_s
    while True:
        found = client.search_traces(
            locations=[experiment_id],
            filter_string=f"prompt = '{prompt}'",
            order_by=["timestamp_ms DESC"],
            max_results=100,
            include_spans=False,
        )
        ids = {t.info.trace_id for t in found}
        if trace_id in ids or time.monotonic() > deadline:
            return ids
        time.sleep(0.5)
