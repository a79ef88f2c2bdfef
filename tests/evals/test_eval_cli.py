"""`writer eval` end to end on three topics: a logged run, a table, and a gate that can fail."""

from __future__ import annotations

from pathlib import Path

import mlflow

from tests.servers import writer_cli


def test_eval_logs_a_run_and_gates_on_thresholds(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/eval.db"
    # The CLI's mechanics on three topics; the real bars are for the whole set (`make eval`):
    # three topics are too few for the share-of-articles bars such as structure.
    bars = tmp_path / "bars.yaml"
    bars.write_text("citation_validity/mean: {min: 1.0}\ncitation_coverage/mean: {min: 0.9}\n")
    done = writer_cli(
        "eval", "--limit", "3", "--thresholds", str(bars), cwd=tmp_path, MLFLOW_TRACKING_URI=store
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "LLM judges skipped" in done.stdout
    assert "Evaluation gate: passed" in done.stdout
    for metric in ("citation_validity/mean", "structure/mean", "total_tokens/mean"):
        assert metric in done.stdout

    client = mlflow.MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("article-writer")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1
    metrics = runs[0].data.metrics
    assert metrics["citation_validity/mean"] == 1.0 and metrics["total_tokens/mean"] > 1000

    strict = tmp_path / "strict.yaml"
    strict.write_text("structure/mean: {min: 0.9}\ntotal_tokens/mean: {max: 10}\n")
    failed = writer_cli(
        "eval", "--limit", "3", "--thresholds", str(strict), cwd=tmp_path, MLFLOW_TRACKING_URI=store
    )
    assert failed.returncode == 1
    assert "FAIL" in failed.stdout and "Evaluation gate: FAILED" in failed.stderr


def test_monitor_says_why_it_cannot_start(tmp_path: Path) -> None:
    local = writer_cli("monitor", cwd=tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/m.db")
    assert local.returncode == 2 and "inside an MLflow tracking server" in local.stderr
    remote = writer_cli("monitor", cwd=tmp_path, MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    assert remote.returncode == 2 and "AI Gateway endpoint" in remote.stderr
