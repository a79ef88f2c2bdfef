"""The agent's LoggedModel: one per version, commit and configuration, found again on restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from cli.settings import Settings
from service import versions
from service.turn import ArticleWriter


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    uri = f"sqlite:///{tmp_path}/versions.db"
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(
        experiment_id=mlflow.create_experiment("versions", (tmp_path / "artifacts").as_uri())
    )
    yield uri
    mlflow.set_tracking_uri(previous)


def version_of(store: str, **overrides: object) -> versions.AgentVersion:
    settings = Settings(_env_file=None, mlflow_tracking_uri=store, **overrides)  # type: ignore[arg-type]
    return ArticleWriter(settings).version


def test_a_restart_finds_its_version_and_a_new_configuration_gets_its_own(store: str) -> None:
    first = version_of(store).activate()
    assert version_of(store).activate() == first  # same code, same configuration
    other = version_of(store, max_revisions=0)
    assert other.activate() != first
    assert other.name is not None and other.name.startswith(versions.version_name(other.commit))
    models = mlflow.search_logged_models(output_format="list")
    by_id = {m.model_id: m for m in models}
    assert len(models) == 2
    assert by_id[first].params["graph.max_revisions"] == "2"
    assert by_id[other.model_id or ""].params["graph.max_revisions"] == "0"


def test_outside_a_git_checkout_the_version_is_the_app_version_alone(tmp_path: Path) -> None:
    assert versions.git_commit(tmp_path) is None
    assert versions.version_name(None) == "article-writer-" + versions.APP_VERSION.replace(".", "_")


def test_prompt_tags_say_which_version_each_prompt_serves() -> None:
    served = [
        {"name": "article-plan", "version": 3, "alias": "production"},
        {"name": "article-draft", "version": None, "alias": None},
    ]
    assert versions.prompt_tags(served) == {
        "prompt.article-plan": "3",
        "prompt.article-draft": "bundled",
    }


def test_a_diagram_that_cannot_be_drawn_leaves_the_mermaid_and_the_version(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A container without fonts or Graphviz still registers its version."""
    from langchain_core.runnables.graph import Graph

    def broken(self: Graph, *args: object, **kwargs: object) -> bytes:
        raise OSError("no fonts")

    monkeypatch.setattr(Graph, "draw_png", broken)
    version = version_of(store)
    model_id = version.activate()
    listed = mlflow.MlflowClient().list_logged_model_artifacts(model_id, "diagram")
    assert {Path(f.path).name for f in listed} == {"graph.mmd"}
