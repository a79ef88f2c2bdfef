"""`writer write` end to end in a subprocess, traced into a local sqlite store."""

from __future__ import annotations

import re
from pathlib import Path

import mlflow

from tests.servers import writer_cli


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


def test_write_refuses_a_bad_topic(tmp_path: Path) -> None:
    done = writer_cli("write", "ab", cwd=tmp_path)
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
