"""The LLM judges against local OpenAI-compatible servers: the requests they form, where they
go, and that configuring them moves nothing else (the environment, the writer's model)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request

from cli.settings import Settings
from evals.judges import judges
from service.llm import chat_model
from testbed.servers import Server, free_port, start_offline_model

JUDGES = [
    "writing_guidelines",
    "relevance_to_query",
    "safety",
    "fluency",
    "correctness",
    "expectations_guidelines",
    "groundedness",
    "claims_supported",
]
ROW = {
    "inputs": {"topic": "Honeybees", "audience": "beginner beekeepers"},
    "outputs": {
        "article": {
            "markdown": "# Bees\n\nBees pollinate crops [1].",
            "references": [{"n": 1, "source_id": "pollination"}],
        }
    },
    "expectations": {
        "expected_facts": ["Bees pollinate crops."],
        "guidelines": ["The article explains pollination simply."],
    },
}
WRITER_URL = "http://127.0.0.1:9/v1"  # nothing listens: a judge sent here fails


def row_for(judge: Any) -> dict[str, Any]:
    """The parts of ROW the judge's template asks for; a run's trace for one that reads it."""
    if "trace" in judge.template_variables:
        return {"trace": a_trace()}
    return {k: v for k, v in ROW.items() if k in judge.template_variables}


def a_trace() -> Any:
    """A small stored trace of a run, in a store of its own: what a trace-based judge reads.
    Its experiment is named, not the process's active one, which other tests may have set."""
    import tempfile

    import mlflow

    before = mlflow.get_tracking_uri()
    with tempfile.TemporaryDirectory() as store:
        uri = f"sqlite:///{store}/judged.db"
        mlflow.set_tracking_uri(uri)
        try:
            experiment = mlflow.MlflowClient(tracking_uri=uri).create_experiment("judged")
            span = mlflow.start_span_no_context(
                "finalize", experiment_id=experiment, inputs={"draft": "# Bees"}
            )
            span.set_outputs({"article": {"markdown": ROW["outputs"]["article"]["markdown"]}})
            span.end()
            trace = mlflow.get_trace(span.trace_id, flush=True)
            assert trace is not None
            return trace
        finally:
            mlflow.set_tracking_uri(before)


@pytest.fixture(scope="module")
def judge_endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in judge model on loopback: it records each request and answers a verdict of
    the type the judge's response schema asks for."""
    seen: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> dict[str, Any]:
        body = await request.json()
        seen.append(
            {"path": request.url.path, "auth": request.headers.get("authorization"), **body}
        )
        schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {})
        boolean = schema.get("properties", {}).get("result", {}).get("type") == "boolean"
        verdict = {"result": True if boolean else "yes", "rationale": "Looks sound."}
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
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the judge endpoint did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1", seen
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def offline_judge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The offline model on its own port, as a judge server: it answers judge prompts."""
    server = start_offline_model(tmp_path_factory.mktemp("judge"))
    yield server
    server.stop()


@pytest.fixture
def user_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user running local judges exports: a key (MLflow's openai provider reads it),
    and no OpenAI endpoint of the developer's leaking in."""
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-judge-test")


@pytest.fixture
def judge_settings(
    judge_endpoint: tuple[str, list[dict[str, Any]]], user_environment: None
) -> Settings:
    return Settings(
        _env_file=None, judge_model="openai:/gpt-4o-mini", judge_base_url=judge_endpoint[0]
    )


def test_without_a_judge_model_the_judges_are_skipped_with_a_reason() -> None:
    found, reason = judges(Settings(_env_file=None))
    assert found == [] and reason and "JUDGE_MODEL" in reason


def test_without_a_key_in_the_environment_openai_judges_say_so_and_write_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    before = dict(os.environ)
    found, reason = judges(
        Settings(
            _env_file=None, judge_model="openai:/judge", judge_base_url="http://127.0.0.1:9/v1"
        )
    )
    assert found == [] and reason and "export it" in reason and "OPENAI_API_KEY" in reason
    assert dict(os.environ) == before


def test_the_custom_judge_sends_a_valid_chat_request(
    judge_endpoint: tuple[str, list[dict[str, Any]]], judge_settings: Settings
) -> None:
    seen = judge_endpoint[1]
    found, reason = judges(judge_settings)
    assert reason is None
    assert [j.name for j in found] == JUDGES
    custom = found[-1]
    verdict = custom(**row_for(custom))
    assert verdict.value is True
    request = seen[-1]
    assert request["path"] == "/v1/chat/completions" and request["model"] == "gpt-4o-mini"
    assert request["auth"] == "Bearer sk-judge-test"
    text = json.dumps(request["messages"])
    assert "Bees pollinate crops [1]" in text and "every claim followed by a citation" in text


def test_every_judge_asks_the_judge_server_with_what_it_judges(
    judge_endpoint: tuple[str, list[dict[str, Any]]], judge_settings: Settings
) -> None:
    seen = judge_endpoint[1]
    found, _ = judges(judge_settings)
    for judge in found:
        before = len(seen)
        verdict = judge(**row_for(judge))
        assert verdict.error is None, (judge.name, verdict.error)
        assert len(seen) == before + 1, judge.name
        assert verdict.value in ("yes", True), judge.name
    asked = [json.dumps(r["messages"]) for r in seen[-len(found) :]]
    by_judge = dict(zip(JUDGES, asked, strict=True))
    assert "jargon is explained" in by_judge["writing_guidelines"]  # evals/guidelines.md
    assert (
        "expected_facts" in by_judge["correctness"]
        and "Bees pollinate crops." in (by_judge["correctness"])
    )
    assert "explains pollination simply" in by_judge["expectations_guidelines"]


def test_judge_settings_move_neither_the_environment_nor_the_writer(
    offline_judge: Server, user_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer's model is configured the usual way, in the environment; the judges have
    # their own server. Judges that followed the environment would call the writer's (dead).
    monkeypatch.setenv("OPENAI_BASE_URL", WRITER_URL)
    before = dict(os.environ)
    url = f"{offline_judge.url}/v1"
    settings = Settings(_env_file=None, judge_model="openai:/offline-judge", judge_base_url=url)
    found, reason = judges(settings)
    assert reason is None
    assert dict(os.environ) == before

    calls = offline_judge.output().count("POST /v1/chat/completions")
    safety = next(j for j in found if j.name == "safety")
    verdict = safety(outputs=ROW["outputs"])
    assert verdict.error is None, verdict.error
    # The offline model's own answer to a criterion it cannot measure.
    assert "offline model cannot judge" in (verdict.rationale or "")
    assert verdict.source.source_id == "openai:/offline-judge"
    assert offline_judge.output().count("POST /v1/chat/completions") == calls + 1

    # The writer's client goes where its own settings say (here OPENAI_BASE_URL), and
    # without a base URL of its own to OpenAI: never to the judge server.
    writer = chat_model(Settings(_env_file=None, llm_model="openai:m"))
    assert str(writer.root_client.base_url).rstrip("/") == WRITER_URL
    monkeypatch.delenv("OPENAI_BASE_URL")
    to_openai = chat_model(Settings(_env_file=None, llm_model="openai:m"))
    assert str(to_openai.root_client.base_url).rstrip("/") == "https://api.openai.com/v1"
