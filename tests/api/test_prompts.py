"""Prompts from the registry over real HTTP: per-request alias, linking, unknown alias, fallback."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from agent.settings import BUNDLED_PROMPTS
from testbed.servers import (
    Server,
    free_port,
    start_traced_api,
    traces_linked_to,
    wait_for_trace,
    writer_cli,
)


@pytest.fixture(scope="module")
def staging_draft(mlflow_url: str, synced_prompts: str, tmp_path_factory) -> int:
    """An edited draft prompt, synced to alias `staging`; `production` stays where it was."""
    folder: Path = tmp_path_factory.mktemp("edited") / "prompts"
    shutil.copytree(BUNDLED_PROMPTS, folder)
    draft = folder / "draft.yaml"
    draft.write_text(draft.read_text().replace("You are a writer", "You are a meticulous writer"))
    done = writer_cli(
        "prompts",
        "sync",
        "--alias",
        "staging",
        cwd=folder.parent,
        MLFLOW_TRACKING_URI=mlflow_url,
        PROMPTS_DIR=str(folder),
    )
    assert done.returncode == 0, done.stderr
    changed = [line.split() for line in done.stdout.splitlines() if line.endswith(" yes")]
    assert [(row[0], row[2]) for row in changed] == [("article-draft", "staging")]
    return int(changed[0][1])


def prompts_of(body: dict) -> dict[str, tuple[int | None, str | None]]:
    return {p["name"]: (p["version"], p["alias"]) for p in body["prompts"]}


def test_a_request_can_try_another_alias(api: Server, mlflow_url: str, staging_draft: int) -> None:
    staged = httpx.post(
        f"{api.url}/write", timeout=60, json={"topic": "Green roofs", "prompt_alias": "staging"}
    )
    assert staged.status_code == 200, staged.text
    assert prompts_of(staged.json())["article-draft"] == (staging_draft, "staging")
    assert prompts_of(staged.json())["article-plan"] == (1, "staging")

    trace = wait_for_trace(mlflow_url, staged.json()["trace_id"])
    assert trace.info.tags["prompt.alias"] == "staging"
    linked = traces_linked_to(
        mlflow_url, trace.info.experiment_id, f"article-draft/{staging_draft}", trace.info.trace_id
    )
    assert linked == {trace.info.trace_id}  # the only article written with the staged draft

    default = httpx.post(f"{api.url}/write", json={"topic": "Green roofs"}, timeout=60)
    assert prompts_of(default.json())["article-draft"] == (1, "production")


def test_an_unknown_alias_is_refused_naming_the_prompt(api: Server) -> None:
    answer = httpx.post(
        f"{api.url}/write", timeout=60, json={"topic": "Green roofs", "prompt_alias": "nope"}
    )
    assert answer.status_code == 422
    error = answer.json()
    assert error["error"] == "unknown_prompt_alias"
    assert "has no alias 'nope'" in error["message"] and "'article-" in error["message"]


def test_registry_down_serves_bundled_prompts_and_says_so(
    mlflow_url: str, tmp_path_factory
) -> None:
    server = start_traced_api(
        tmp_path_factory.mktemp("api-no-registry"),
        mlflow_url,
        "tests-no-registry",
        MLFLOW_REGISTRY_URI=f"http://127.0.0.1:{free_port()}",
    )
    try:
        answer = httpx.post(f"{server.url}/write", json={"topic": "City trees"}, timeout=60)
        assert answer.status_code == 200
        assert {v for v, _ in prompts_of(answer.json()).values()} == {None}
        trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
        assert trace.info.tags["prompt.source"] == "bundled"
        assert "mlflow.linkedPrompts" not in trace.info.tags
        ready = httpx.get(f"{server.url}/ready", timeout=10).json()
        assert ready["status"] == "degraded"
        assert ready["checks"]["tracking"]["ok"] is True
        assert "serving bundled prompts" in ready["checks"]["prompts"]["detail"]
    finally:
        server.stop()
