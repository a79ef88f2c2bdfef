"""`writer eval` end to end on a few topics: a logged run linked to its dataset, a table, a
gate that can fail, and a comparison with an earlier run that can fail too. Each call is a
process, as a user's is: the runs are shared where one can show two things."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pytest

from testbed.servers import writer_cli


def comparison(stdout: str) -> dict[str, list[str]]:
    """The rows of the comparison table `--compare` prints, by metric."""
    table = stdout.split("Compared with run", 1)[1].split("\n\n", 1)[0]
    return {row.split()[0]: row.split()[1:] for row in table.splitlines() if "/" in row}


@pytest.fixture
def eval_store(tmp_path: Path) -> str:
    """Where the evaluation logs: a sqlite file of its own (tests/on_postgres: a tracking
    server on PostgreSQL)."""
    return f"sqlite:///{tmp_path}/eval.db"


def test_eval_logs_a_run_and_gates_on_thresholds(tmp_path: Path, eval_store: str) -> None:
    store = eval_store
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
    for metric in (
        "citation_validity/mean",
        "structure/mean",
        "total_tokens/mean",
        "expected_facts_stated/mean",
    ):
        assert metric in done.stdout

    client = mlflow.MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("article-writer")
    by_dataset = {
        run.inputs.dataset_inputs[0].dataset.name: run
        for run in client.search_runs([experiment.experiment_id])
    }
    # The golden set's run, then the coverage bar's: two covered topics, each an article
    # citing a document on it, and one outside the library, refused.
    assert set(by_dataset) == {"article-writer-golden-first-3", "article-writer-coverage-first-3"}
    bar = by_dataset["article-writer-coverage-first-3"].data.metrics
    assert bar["covered_topic_written/mean"] == 1.0 and bar["off_topic_article/mean"] == 0.0
    assert "The coverage bar: 3 labelled topics (topics.yaml)" in done.stdout
    assert "covered_topic_written/mean" in done.stdout
    runs = [by_dataset["article-writer-golden-first-3"]]
    metrics = runs[0].data.metrics
    assert metrics["citation_validity/mean"] == 1.0 and metrics["total_tokens/mean"] > 1000
    assert 0 < metrics["expected_facts_stated/mean"] <= 1

    # The run evaluated the registered dataset of those three cases, and its page says so.
    (linked,) = runs[0].inputs.dataset_inputs
    assert linked.dataset.name == "article-writer-golden-first-3"
    dataset_id = json.loads(linked.dataset.source)["dataset_id"]
    assert f"Dataset: article-writer-golden-first-3 ({dataset_id}, 3 cases)" in done.stdout
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(store)
    try:
        dataset = mlflow.genai.datasets.get_dataset(dataset_id=dataset_id)
        assert len(dataset.to_df()) == 3
        assert experiment.experiment_id in dataset.experiment_ids
    finally:
        mlflow.set_tracking_uri(previous)

    # The run and its rows' traces belong to the agent version the app registers: the UI's
    # "Agent versions" page shows this run's metrics beside that version's traces.
    (model_input,) = client.get_run(runs[0].info.run_id).inputs.model_inputs  # not in search
    model = client.get_logged_model(model_input.model_id)
    assert model.name.startswith("article-writer-") and model.params["llm.model"]
    assert f"({model.name})" in done.stdout
    traces = client.search_traces(
        locations=[experiment.experiment_id], run_id=runs[0].info.run_id, include_spans=False
    )
    assert len(traces) == 3
    assert {t.info.trace_metadata.get("mlflow.modelId") for t in traces} == {model.model_id}


def test_compare_prints_both_runs_and_fails_on_a_regression(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/eval.db"
    env = {"MLFLOW_TRACKING_URI": store}
    bars = tmp_path / "bars.yaml"
    bars.write_text("citation_validity/mean: {min: 1.0}\n")
    common = ("eval", "--limit", "2", "--thresholds", str(bars), "--no-topics")

    unknown = writer_cli(*common, "--compare", "no-such-run", cwd=tmp_path, **env)
    assert unknown.returncode == 2
    assert "error: --compare: no run 'no-such-run' in the tracking store" in unknown.stderr
    assert "Evaluating" not in unknown.stdout  # it failed before the minutes of evaluation

    first = writer_cli(*common, cwd=tmp_path, **env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    client = mlflow.MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name("article-writer")
    (earlier,) = client.search_runs([experiment.experiment_id])
    measured = earlier.data.metrics

    # The same app on the same cases: nothing regresses. Tokens are the same to the token
    # offline; latency on a busy test machine varies by more than the default 25%. Bars this
    # run cannot reach fail its gate, and the comparison is still made and printed.
    loose = ("--max-cost-increase", "3")
    strict = tmp_path / "strict.yaml"
    strict.write_text("structure/mean: {min: 0.9}\ntotal_tokens/mean: {max: 10}\n")
    gated = ("--thresholds", str(strict))
    again = writer_cli(
        *common, "--compare", earlier.info.run_id, *loose, *gated, cwd=tmp_path, **env
    )
    assert again.returncode == 1, again.stdout[-3000:] + again.stderr[-3000:]
    assert "FAIL" in again.stdout and "Evaluation gate: FAILED" in again.stderr
    assert f"Compared with run {earlier.info.run_id}:" in again.stdout
    assert f"Comparison with {earlier.info.run_id}: no regression" in again.stdout
    value = f"{measured['expected_facts_stated/mean']:.3f}"
    assert comparison(again.stdout)["expected_facts_stated/mean"] == [value, value, "+0.000"]
    assert comparison(again.stdout)["total_tokens/mean"][2] == "+0%"
    assert "note:" not in again.stdout  # both runs evaluated the same dataset

    # An earlier run that stated more facts and spent fewer tokens (and was slower, so that
    # latency's noise cannot regress here): both regressions show, at the default bounds.
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(store)
    try:
        with mlflow.start_run(experiment_id=experiment.experiment_id) as crafted:
            mlflow.log_metrics(
                {
                    **measured,
                    "expected_facts_stated/mean": measured["expected_facts_stated/mean"] + 0.2,
                    "total_tokens/mean": measured["total_tokens/mean"] / 2,
                    "latency_seconds/mean": measured["latency_seconds/mean"] * 10,
                }
            )
    finally:
        mlflow.set_tracking_uri(previous)
    worse = writer_cli(*common, "--compare", crafted.info.run_id, cwd=tmp_path, **env)
    assert worse.returncode == 1, worse.stdout[-3000:] + worse.stderr[-3000:]
    assert "Evaluation gate: passed" in worse.stdout  # the bars hold; the comparison fails
    rows = comparison(worse.stdout)
    assert rows["expected_facts_stated/mean"][2:] == ["-0.200", "REGRESSED"]
    assert rows["total_tokens/mean"][2:] == ["+100%", "REGRESSED"]
    assert "REGRESSED" not in rows["citation_validity/mean"]
    assert "note: that run evaluated no logged dataset" in worse.stdout
    assert (
        f"Comparison with {crafted.info.run_id}: REGRESSED "
        "(expected_facts_stated/mean, total_tokens/mean)" in worse.stderr
    )


def test_monitor_says_why_it_cannot_start(tmp_path: Path) -> None:
    local = writer_cli("monitor", cwd=tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/m.db")
    assert local.returncode == 2 and "inside an MLflow tracking server" in local.stderr
    remote = writer_cli("monitor", cwd=tmp_path, MLFLOW_TRACKING_URI="http://127.0.0.1:9")
    assert remote.returncode == 2 and "AI Gateway endpoint" in remote.stderr
