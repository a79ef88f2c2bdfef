"""The MLflow contract on a PostgreSQL-backed tracking server that serves its artifacts: the
trace contract, prompts, feedback, evaluation and the AI Gateway, by the suite's own tests (the
fixtures they ask for are this folder's, in conftest.py), and the served artifacts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import mlflow
import psycopg
import pytest
from moto.server import ThreadedMotoServer

from testbed.postgres import database
from testbed.servers import (
    clean_env,
    free_port,
    mlflow_server,
    start_process,
    wait_for_trace,
    wait_healthy,
)
from tests.api.test_feedback import (
    article_trace,
    test_feedback_lands_on_the_trace_and_a_second_rating_replaces_the_first,
)
from tests.api.test_gateway import (
    Gateway,
    serving_gateway,
    test_an_article_through_a_gateway_endpoint,
    test_the_fallback_model_writes_the_article_when_the_primary_is_down,
)
from tests.api.test_prompts import staging_draft, test_a_request_can_try_another_alias
from tests.api.test_write import (
    test_concurrent_requests_get_separate_traces,
    test_write_returns_an_article_and_the_id_of_its_trace,
)
from tests.evals.test_eval_cli import test_eval_logs_a_run_and_gates_on_thresholds

__all__ = [  # collected here, against this folder's fixtures
    "article_trace",
    "staging_draft",
    "test_a_request_can_try_another_alias",
    "test_an_article_through_a_gateway_endpoint",
    "test_concurrent_requests_get_separate_traces",
    "test_eval_logs_a_run_and_gates_on_thresholds",
    "test_feedback_lands_on_the_trace_and_a_second_rating_replaces_the_first",
    "test_the_fallback_model_writes_the_article_when_the_primary_is_down",
    "test_write_returns_an_article_and_the_id_of_its_trace",
]


@pytest.fixture(scope="module")
def gateway(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    backend = database(postgres_url, "mlflow_gateway")
    with serving_gateway(tmp_path_factory.mktemp("gateway"), backend) as served:
        yield served


def test_the_server_keeps_artifacts_for_its_clients(mlflow_url: str, tmp_path: Path) -> None:
    """A client logs an artifact with no access to where it is kept: the server stores it
    (`--serve-artifacts`), under its own folder, and hands it back."""
    client = mlflow.MlflowClient(tracking_uri=mlflow_url)
    experiment = client.create_experiment("served-artifacts")
    assert client.get_experiment(experiment).artifact_location.startswith("mlflow-artifacts:/")
    run = client.create_run(experiment)
    note = tmp_path / "note.txt"
    note.write_text("kept by the server")
    client.log_artifact(run.info.run_id, str(note))
    fetched = Path(client.download_artifacts(run.info.run_id, "note.txt", str(tmp_path / "back")))
    assert fetched.read_text() == "kept by the server"


def test_writer_up_keeps_mlflow_in_the_database_and_serves_the_artifacts(
    postgres_url: str, tmp_path: Path
) -> None:
    """`writer up --backend ... --artifacts ...`: an article's trace lands in the database's
    tables, and the agent version's diagram in the artifact folder the server keeps."""
    backend = database(postgres_url, "mlflow_up")
    mlflow_port, api_port = free_port(), free_port()
    env = clean_env(MLFLOW_PORT=str(mlflow_port), API_PORT=str(api_port))
    artifacts = tmp_path / "served"
    command = [sys.executable, "-m", "cli", "up", "--backend", backend]
    up = start_process([*command, "--artifacts", str(artifacts)], tmp_path, env, api_port)
    try:
        wait_healthy(up, "/ready", timeout_s=180)
        answer = httpx.post(f"{up.url}/write", json={"topic": "Coral reefs"}, timeout=120)
        assert answer.status_code == 200, answer.text
        wait_for_trace(f"http://127.0.0.1:{mlflow_port}", answer.json()["trace_id"])
        with psycopg.connect(backend) as connection:
            stored = connection.execute(
                "SELECT count(*) FROM trace_info WHERE request_id = %s",
                (answer.json()["trace_id"],),
            ).fetchone()
        assert stored == (1,)
        assert sorted(p.name for p in artifacts.rglob("graph.*")) == ["graph.mmd", "graph.png"]
        assert backend not in up.output()  # the URL, and any password in it, stays unprinted
    finally:
        up.stop()


def test_artifacts_go_to_an_s3_compatible_store(postgres_url: str, tmp_path: Path) -> None:
    """`--artifacts s3://...`: the server writes what clients log to the bucket, through
    MLflow's S3 store (boto3), and reads it back for them. The store is moto's S3 server, on
    loopback; the compose file's is MinIO."""
    s3_port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port)
    s3.start()
    try:
        endpoint = f"http://127.0.0.1:{s3_port}"
        keys = {"AWS_ACCESS_KEY_ID": "writer", "AWS_SECRET_ACCESS_KEY": "writer-secret"}
        bucket = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **_lower(keys))
        bucket.create_bucket(Bucket="mlflow")
        with mlflow_server(
            tmp_path / "mlflow",
            backend=database(postgres_url, "mlflow_s3"),
            artifacts="s3://mlflow/artifacts",
            env={"MLFLOW_S3_ENDPOINT_URL": endpoint, **keys},
        ) as url:
            client = mlflow.MlflowClient(tracking_uri=url)
            run = client.create_run(client.create_experiment("s3"))
            note = tmp_path / "note.txt"
            note.write_text("kept in the bucket")
            client.log_artifact(run.info.run_id, str(note))
            back = client.download_artifacts(run.info.run_id, "note.txt", str(tmp_path))
            assert Path(back).read_text() == "kept in the bucket"
        stored = bucket.list_objects_v2(Bucket="mlflow", Prefix="artifacts/")["Contents"]
        assert [o["Key"] for o in stored if o["Key"].endswith("/note.txt")], stored
        assert not (tmp_path / "mlflow" / "artifacts").exists()  # nothing kept locally
    finally:
        s3.stop()


def _lower(keys: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in keys.items()}
