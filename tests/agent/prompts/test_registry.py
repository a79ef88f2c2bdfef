"""Syncing prompt files into the MLflow Prompt Registry (a local sqlite registry here)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import mlflow
import pytest

from agent.prompts import PromptCatalog, PromptFileError, UnknownPromptAlias
from agent.prompts import registry as prompt_registry
from agent.settings import BUNDLED_PROMPTS
from cli.settings import Settings


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    folder = tmp_path / "prompts"
    shutil.copytree(BUNDLED_PROMPTS, folder)
    return folder


def changed(rows: list[prompt_registry.SyncRow]) -> dict[str, int]:
    return {row.name: row.version for row in rows if row.changed}


def test_first_sync_registers_everything_and_the_second_nothing(
    registry: str, prompts: Path
) -> None:
    first = prompt_registry.sync(prompts, "production")
    assert changed(first) == {row.name: 1 for row in first} and len(first) == 7
    second = prompt_registry.sync(prompts, "production")
    assert changed(second) == {}
    assert {(r.name, r.version, r.alias) for r in second} == {
        (r.name, 1, "production") for r in first
    }


def test_an_edited_file_gets_one_new_version_and_the_alias(registry: str, prompts: Path) -> None:
    prompt_registry.sync(prompts, "production")
    draft = prompts / "draft.yaml"
    draft.write_text(draft.read_text().replace("You are a writer", "You are a careful writer"))

    preview = prompt_registry.sync(prompts, "production", dry_run=True)
    assert changed(preview) == {"article-draft": 2}
    assert mlflow.genai.load_prompt("prompts:/article-draft@production").version == 1

    rows = prompt_registry.sync(prompts, "production")
    assert changed(rows) == {"article-draft": 2}
    loaded = mlflow.genai.load_prompt("prompts:/article-draft@production", cache_ttl_seconds=0)
    assert loaded.version == 2 and "careful writer" in loaded.template[0]["content"]
    assert "careful" in prompt_registry.diff("article-draft", 1, 2)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda t: t.replace("{{draft}}", "{{draft}} {{mood}}"), "undeclared variable(s) mood"),
        (
            lambda t: t.replace(
                "variables: [audience, target_words, draft]",
                "variables: [audience, target_words, draft, mood]",
            ).replace("{{draft}}", "{{draft}} {{mood}}"),
            "the article-review node does not provide mood",
        ),
        (
            lambda t: t.replace("name: article-review", "name: article-critic"),
            "no node uses a prompt named 'article-critic'",
        ),
        (lambda t: t.replace("description:", "summary:"), "missing field(s) description"),
    ],
)
def test_a_broken_file_fails_the_sync_and_changes_nothing(
    registry: str, prompts: Path, edit, problem: str
) -> None:
    prompt_registry.sync(prompts, "production")
    before = prompt_registry.listing()
    review = prompts / "review.yaml"
    review.write_text(edit(review.read_text()))
    (prompts / "draft.yaml").write_text(
        (prompts / "draft.yaml").read_text().replace("You are a writer", "You are a new writer")
    )
    with pytest.raises(PromptFileError, match=re.escape(problem)) as raised:
        prompt_registry.sync(prompts, "production")
    assert "review.yaml" in str(raised.value)
    assert prompt_registry.listing() == before  # not even the valid draft change went in


def test_the_catalog_loads_by_alias_and_falls_back_to_the_files(
    registry: str, prompts: Path
) -> None:
    settings = Settings(
        _env_file=None,
        mlflow_tracking_uri=registry,
        prompts_dir=prompts,
        prompt_cache_ttl_seconds=0,
    )
    catalog = PromptCatalog(settings)
    unsynced = catalog.resolve()
    assert unsynced.source == "bundled" and "not registered" in (catalog.problem or "")

    prompt_registry.sync(prompts, "production")
    catalog.problem = None
    synced = catalog.resolve()
    assert synced.source == "registry" and synced.alias == "production"
    assert {p["version"] for p in synced.summary()} == {1}
    with pytest.raises(UnknownPromptAlias, match="'article-amend' has no alias 'qa'"):
        catalog.resolve("qa")


def test_promote_and_roll_back(registry: str, prompts: Path) -> None:
    prompt_registry.sync(prompts, "production")
    draft = prompts / "draft.yaml"
    draft.write_text(draft.read_text().replace("You are a writer", "You are a careful writer"))
    prompt_registry.sync(prompts, "staging")
    names = ["article-draft", "article-plan"]

    rows = prompt_registry.promote("staging", "production", names)
    assert [(r.name, r.version, r.changed) for r in rows] == [
        ("article-draft", 2, True),
        ("article-plan", 1, False),
    ]
    assert (
        mlflow.genai.load_prompt("prompts:/article-draft@production", cache_ttl_seconds=0).version
        == 2
    )

    prompt_registry.set_alias("article-draft", "production", 1)
    assert (
        mlflow.genai.load_prompt("prompts:/article-draft@production", cache_ttl_seconds=0).version
        == 1
    )
    with pytest.raises(LookupError, match="no version 7"):
        prompt_registry.set_alias("article-draft", "production", 7)
    with pytest.raises(UnknownPromptAlias):
        prompt_registry.promote("qa", "production", names)
