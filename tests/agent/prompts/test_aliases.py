"""The aliases the web page's form offers (GET /prompts/aliases), from a local sqlite registry."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from agent.prompts import registry as prompt_registry
from agent.prompts.aliases import request_aliases
from agent.prompts.files import PromptBook
from agent.settings import BUNDLED_PROMPTS, Settings
from tests.servers import free_port


@pytest.fixture(scope="module")
def migrated_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow database, made once: creating one takes seconds."""
    path = tmp_path_factory.mktemp("aliases-store") / "empty.db"
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{path}", registry_uri=f"sqlite:///{path}")
    client.search_experiments()
    client.search_registered_models()
    return path


@pytest.fixture
def registry(tmp_path: Path, migrated_store: Path) -> Iterator[str]:
    shutil.copy(migrated_store, tmp_path / "registry.db")
    uri = f"sqlite:///{tmp_path}/registry.db"
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    yield uri
    mlflow.set_tracking_uri(previous[0])
    mlflow.set_registry_uri(previous[1])


def settings_for(uri: str) -> Settings:
    return Settings(_env_file=None, mlflow_tracking_uri=uri, prompt_alias="production")


BOOK = PromptBook.from_folder(BUNDLED_PROMPTS)


async def test_only_aliases_every_prompt_has_are_offered_the_default_first(registry: str) -> None:
    settings = settings_for(registry)
    # Nothing registered: the default still serves (from the bundled files).
    assert await request_aliases(settings, BOOK) == ["production"]

    prompt_registry.sync(BUNDLED_PROMPTS, "production")
    prompt_registry.promote("production", "staging", sorted(BOOK.files))
    prompt_registry.promote("production", "archive", sorted(BOOK.files))
    # An alias one prompt lacks would be refused for a request naming it: not offered.
    prompt_registry.set_alias("article-draft", "canary", 1)
    assert await request_aliases(settings, BOOK) == ["production", "archive", "staging"]


async def test_an_unreachable_registry_offers_only_the_default() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    assert await request_aliases(settings_for(dead), BOOK) == ["production"]
