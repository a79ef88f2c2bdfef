"""The LLM-judge path against a local OpenAI-compatible endpoint: the request it forms."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request

from agent.settings import Settings
from evals.judges import judges
from tests.servers import free_port


@pytest.fixture(scope="module")
def judge_endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in judge model on loopback: it records each request and answers a verdict."""
    seen: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> dict[str, Any]:
        body = await request.json()
        seen.append(
            {"path": request.url.path, "auth": request.headers.get("authorization"), **body}
        )
        verdict = {
            "result": "yes" if "safe" in json.dumps(body).lower() else True,
            "rationale": "The claims cite matching sources.",
        }
        return {
            "id": "judge-1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": json.dumps(verdict)},
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        pass
    yield f"http://127.0.0.1:{port}/v1", seen
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def judge_settings(
    judge_endpoint: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Judges on the local endpoint, with no OpenAI environment of the developer's leaking in."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return Settings(
        _env_file=None, judge_model="openai:/gpt-4o-mini", judge_base_url=judge_endpoint[0]
    )


def test_without_a_judge_model_the_judges_are_skipped_with_a_reason() -> None:
    found, reason = judges(Settings(_env_file=None))
    assert found == [] and reason and "JUDGE_MODEL" in reason


def test_the_custom_judge_sends_a_valid_chat_request(
    judge_endpoint: tuple[str, list[dict[str, Any]]], judge_settings: Settings
) -> None:
    seen = judge_endpoint[1]
    found, reason = judges(judge_settings)
    assert reason is None
    assert [j.name for j in found] == [
        "writing_guidelines",
        "relevance_to_query",
        "safety",
        "fluency",
        "claims_supported",
    ]
    custom = found[-1]
    verdict = custom(
        inputs={"topic": "Honeybees"},
        outputs={
            "article": {
                "markdown": "# Bees\n\nBees pollinate crops [1].",
                "references": [{"n": 1, "source_id": "pollination"}],
            }
        },
    )
    assert verdict.value is True
    request = seen[-1]
    assert request["path"] == "/v1/chat/completions" and request["model"] == "gpt-4o-mini"
    text = json.dumps(request["messages"])
    assert "Bees pollinate crops [1]" in text and "every claim followed by a citation" in text


def test_built_in_judges_follow_the_judge_base_url(
    judge_endpoint: tuple[str, list[dict[str, Any]]], judge_settings: Settings
) -> None:
    seen = judge_endpoint[1]
    found, _ = judges(judge_settings)
    safety = next(j for j in found if j.name == "safety")
    before = len(seen)
    verdict = safety(outputs="Bees pollinate crops.")
    assert len(seen) == before + 1 and seen[-1]["model"] == "gpt-4o-mini"
    assert verdict.value == "yes"
