"""`writer write` and `writer up` end to end in a subprocess, traced into a local sqlite store;
`writer sources` and the refusals in process."""

from __future__ import annotations

import json
import re
import signal
import sys
from pathlib import Path

import httpx
import mlflow
import pytest

from testbed.documents import tidal_folder
from testbed.servers import clean_env, free_port, start_process, wait_healthy, writer_cli
from tests.cli.conftest import Cli


def test_write_prints_progress_the_article_and_the_trace(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/cli.db"
    done = writer_cli(
        "write", "Sourdough fermentation", "--words", "300", cwd=tmp_path, MLFLOW_TRACKING_URI=store
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("# Sourdough Fermentation")
    assert "\nReferences\n  [1] " in done.stdout
    for node in ("plan", "research", "draft", "review", "finalize"):
        assert re.search(rf"^  {node} ", done.stderr, re.M), node
    trace_id = re.search(r"Trace: trace id (tr-\w+)", done.stderr).group(1)  # type: ignore[union-attr]
    trace = mlflow.MlflowClient(tracking_uri=store).get_trace(trace_id)
    assert trace.info.state.value == "OK"


def test_write_refuses_a_bad_topic(cli: Cli) -> None:
    done = cli("write", "ab")
    assert done.returncode == 2 and "3 to 300 characters" in done.stderr


def test_write_stream_shows_tool_calls_and_text_as_they_come(tmp_path: Path) -> None:
    done = writer_cli(
        "write",
        "Green roofs",
        "--words",
        "200",
        "--stream",
        cwd=tmp_path,
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/cli.db",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "-> search_sources(query=" in done.stderr
    assert "\n--- draft ---\n# Green Roofs" in done.stderr
    assert done.stdout.startswith("# Green Roofs")


def test_up_serves_and_sigterm_stops_mlflow_with_the_api(tmp_path: Path) -> None:
    mlflow_port, api_port = free_port(), free_port()
    env = clean_env(
        MLFLOW_PORT=str(mlflow_port),
        API_PORT=str(api_port),
        MLFLOW_DATA_DIR=str(tmp_path / "mlflow"),
    )
    up = start_process([sys.executable, "-m", "cli", "up"], tmp_path, env, api_port)
    try:
        wait_healthy(up, "/ready", timeout_s=180)
        ready = httpx.get(f"{up.url}/ready", timeout=10).json()
        assert ready["status"] == "ready", ready
        up.process.send_signal(signal.SIGTERM)
        up.process.wait(timeout=60)
    finally:
        up.stop()
    with pytest.raises(httpx.ConnectError):  # the MLflow server went with it
        httpx.get(f"http://127.0.0.1:{mlflow_port}/health", timeout=2)


def test_sources_lists_what_was_indexed_and_what_could_not_be_read(
    tmp_path: Path, cli: Cli
) -> None:

    folder = tidal_folder(tmp_path / "docs")
    (folder / "broken.pdf").write_bytes(b"not a pdf")
    env = {"SOURCES_DIR": str(folder), "SOURCES_CACHE_DIR": str(tmp_path / "cache")}
    done = cli("sources", **env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(your documents): 3 documents indexed" in done.stdout
    assert "barrages.pdf" in done.stdout and "costs.docx" in done.stdout
    assert "Not read (1):" in done.stdout and "broken.pdf: not a readable PDF file" in done.stdout

    listed = json.loads(cli("sources", "--json", **env).stdout)
    assert {d["location"] for d in listed["indexed"]} == {
        "barrages.pdf",
        "streams.html",
        "costs.docx",
    }
    assert listed["skipped"] == [
        {"file": "broken.pdf", "reason": "not a readable PDF file (PDFSyntaxError): skipped"}
    ]
    missing = cli("sources", SOURCES_DIR=str(tmp_path / "nope"))
    assert missing.returncode == 2 and "does not exist" in missing.stdout
