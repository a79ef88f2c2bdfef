"""What the MLflow UI shows after traffic: the agent version of each trace, and previews.

The "Agent versions" page lists the app's LoggedModel with its params, tags and diagram; the
trace list's Request and Response columns read as words, not JSON.
"""

from __future__ import annotations

import hashlib
import struct
import time
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow.entities import LoggedModel, Trace

from service import versions
from testbed.servers import Server, wait_for_trace

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def written(api: Server, mlflow_url: str) -> Trace:
    body = {"topic": "How honeybees pollinate crops", "audience": "gardeners", "target_words": 300}
    answer = httpx.post(f"{api.url}/write", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    return wait_for_trace(mlflow_url, answer.json()["trace_id"])


@pytest.fixture(scope="module")
def model(written: Trace, mlflow_url: str) -> LoggedModel:
    model_id = written.info.trace_metadata["mlflow.modelId"]
    return mlflow.MlflowClient(tracking_uri=mlflow_url).get_logged_model(model_id)


def test_every_trace_names_the_agent_version_that_wrote_it(model: LoggedModel) -> None:
    commit = versions.git_commit()
    assert commit is not None  # the tests run from a checkout
    base = f"article-writer-{versions.APP_VERSION.replace('.', '_')}-{commit.sha[:8]}"
    # Another API of the suite with other settings may have taken the bare name in this
    # experiment first; then this one carries its settings' fingerprint.
    fingerprint = hashlib.sha256(repr(sorted(model.params.items())).encode()).hexdigest()
    assert model.name in (base, f"{base}-{fingerprint[:6]}")
    assert model.model_type == "agent"
    assert model.params["llm.provider"] == "offline"
    assert model.params["llm.model"] == "offline-writer"
    assert model.params["prompt.alias"] == "production"
    assert model.params["graph.max_research_rounds"] == "3"
    assert model.tags["git.commit"] == commit.sha
    assert model.tags["app.version"] == versions.APP_VERSION


def test_the_version_is_tagged_with_the_prompt_versions_it_serves(
    model: LoggedModel, mlflow_url: str
) -> None:
    # Tags are written in the background after the first article: poll briefly.
    client = mlflow.MlflowClient(tracking_uri=mlflow_url)
    for _ in range(40):
        tags = client.get_logged_model(model.model_id).tags
        if "prompt.article-plan" in tags:
            break
        time.sleep(0.25)
    assert tags["prompt.article-plan"] == "1" and tags["prompt.article-draft"] == "1"


def test_the_version_carries_the_graph_diagram(
    model: LoggedModel, mlflow_url: str, tmp_path: Path
) -> None:
    client = mlflow.MlflowClient(tracking_uri=mlflow_url)
    listed = {
        Path(f.path).name for f in client.list_logged_model_artifacts(model.model_id, "diagram")
    }
    assert listed == {"graph.mmd", "graph.png"}
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"{model.artifact_location}/diagram",
            dst_path=str(tmp_path),
            tracking_uri=mlflow_url,
        )
    )
    mermaid = (local / "graph.mmd").read_text()
    for node in ("plan", "research", "coverage", "draft", "review", "revise", "finalize"):
        assert f"\t{node}(" in mermaid
    png = (local / "graph.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk: a real drawing
    assert width > 300 and height > 500


def test_the_trace_list_previews_read_as_words(written: Trace) -> None:
    assert (
        written.info.request_preview == "How honeybees pollinate crops (for gardeners, 300 words)"
    )
    root = next(s for s in written.data.spans if s.parent_id is None)
    title, words = root.outputs["title"], root.outputs["word_count"]
    assert written.info.response_preview == f"{title} ({words} words)"


def test_a_failed_article_previews_its_error_code(api: Server, mlflow_url: str) -> None:
    answer = httpx.post(
        f"{api.url}/write", json={"topic": "Medieval castle architecture"}, timeout=60
    )
    assert answer.status_code == 422 and answer.json()["error"] == "no_sources"
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    assert trace.info.request_preview == "Medieval castle architecture"
    assert trace.info.response_preview == "error: no_sources"
