"""The real-model tier's processes: llama-server with SmolLM2-135M on a free loopback port, and
the API in front of it, tracing into the session's MLflow server.

Run with `make test-real-model`; the default run leaves these tests out (`-m "not real_model"`).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from testbed.servers import Server, free_port, start_traced_api
from tests.real_model import llama
from tests.real_model.report import Report

# Bounds for a 135M model on 2 CPU cores: one model call can take minutes, so a retry would only
# spend the step's time; one revision and one editor round keep an article under the request's
# bound. LLM_CONTEXT_TOKENS is the model's own window (llama-server is started with it).
API_SETTINGS = {
    "LLM_MODEL": f"openai:{llama.MODEL_ALIAS}",
    "LLM_MAX_RETRIES": "0",
    "LLM_TIMEOUT_SECONDS": "150",
    "STEP_TIMEOUT_SECONDS": "170",
    "REQUEST_TIMEOUT_SECONDS": "420",
    "MAX_REVISIONS": "0",
    "MAX_RESEARCH_ROUNDS": "2",
    "MAX_EDITOR_ROUNDS": "1",
    "LLM_CONTEXT_TOKENS": str(llama.CONTEXT_TOKENS),
}
REPORT = pytest.StashKey[Report]()


@dataclass(frozen=True)
class ModelServer:
    url: str  # the OpenAI-compatible base, …/v1
    log: Path


@dataclass(frozen=True)
class RealApi:
    url: str
    settings: dict[str, str]
    model: ModelServer
    log: Path


def pytest_configure(config: pytest.Config) -> None:
    config.stash[REPORT] = Report()


@pytest.fixture(scope="session")
def run_report(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Report]:
    """Every topic's run, written as JSON when the session ends (even when a test failed)."""
    report = request.config.stash[REPORT]
    yield report
    default = tmp_path_factory.getbasetemp() / "real-model-report.json"
    report.write(Path(os.environ.get("REAL_MODEL_REPORT") or default))


@pytest.fixture(scope="session")
def model_server(
    tmp_path_factory: pytest.TempPathFactory, run_report: Report
) -> Iterator[ModelServer]:
    parts = llama.parts()  # cached; `make test-real-model` builds it before pytest starts
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "llama-server.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(llama.command(parts, port), stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            llama.wait_ready(url, process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{log.read_text(errors='replace')[-3000:]}") from None
        run_report.setup["llama_server"] = {
            "command": llama.command(parts, port),
            "ready_s": round(time.monotonic() - started, 1),
            "log": str(log),
        }
        yield ModelServer(f"{url}/v1", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def real_api(
    mlflow_url: str,
    synced_prompts: str,
    model_server: ModelServer,
    tmp_path_factory: pytest.TempPathFactory,
    run_report: Report,
) -> Iterator[RealApi]:
    # No OPENAI_API_KEY: start_traced_api scrubs OPENAI_* from the environment, and a local
    # server needs none.
    settings = {**API_SETTINGS, "OPENAI_BASE_URL": model_server.url}
    started = time.monotonic()
    server: Server = start_traced_api(
        tmp_path_factory.mktemp("real-api"), mlflow_url, "real-model", **settings
    )
    run_report.setup["api"] = {
        "settings": settings,
        "ready_s": round(time.monotonic() - started, 1),
        "log": str(server.log),
    }
    yield RealApi(server.url, settings, model_server, server.log)
    server.stop()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """The table prints whatever `-s` says: the terminal summary is never captured."""
    report = config.stash.get(REPORT, None)
    if report is None or not report.runs:
        return
    terminalreporter.section("real model")
    for key in ("llama_server", "api"):
        if key in report.setup:
            terminalreporter.write_line(f"{key} ready in {report.setup[key]['ready_s']} s")
    for line in report.table():
        terminalreporter.write_line(line)
    if report.path:
        terminalreporter.write_line(f"report: {report.path}")
