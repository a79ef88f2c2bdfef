"""The offline model's answer to an LLM judge: a JSON verdict it can stand behind, or "unknown"."""

from __future__ import annotations

import json
from typing import Any

import httpx
from mlflow.genai.judges.prompts import relevance_to_query, safety

from offline_model.model import respond
from offline_model.server import create_app

# The structured output MLflow's built-in judges ask for (as mlflow 3.17 sends it).
JUDGE_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "JudgeEvaluation",
        "schema": {
            "properties": {
                "result": {"title": "Result", "type": "string"},
                "rationale": {"title": "Rationale", "type": "string"},
            },
            "required": ["result", "rationale"],
            "title": "JudgeEvaluation",
            "type": "object",
            "additionalProperties": False,
        },
        "strict": True,
    },
}


def judge_request(prompt: str) -> dict[str, Any]:
    return {
        "model": "offline-writer",
        "messages": [{"role": "user", "content": prompt}],
        "response_format": JUDGE_FORMAT,
        "n": 1,
    }


def verdict(prompt: str) -> dict[str, str]:
    reply = respond(judge_request(prompt))
    assert reply.tool_calls == [] and reply.content is not None
    answer = json.loads(reply.content)
    assert set(answer) == {"result", "rationale"}
    return dict(answer)


def test_relevance_is_the_words_an_answer_shares_with_its_question() -> None:
    # What a scheduled judge sends for one of the app's traces: the root span's inputs and
    # outputs, as Python reprs.
    prompt = relevance_to_query.get_prompt(
        str({"topic": "How honeybees pollinate crops", "target_words": 300}),
        str({"title": "How Honeybees Pollinate Crops", "word_count": 300, "references": 4}),
    )
    found = verdict(prompt)
    assert found["result"] == "yes"
    assert "honeybees, pollinate, crops" in found["rationale"]
    assert "not a model's judgement" in found["rationale"]
    assert verdict(prompt) == found  # the same request, the same answer


def test_key_names_and_numbers_do_not_count_as_relevance() -> None:
    prompt = relevance_to_query.get_prompt(
        str({"topic": "Coral reefs", "target_words": 300}),
        str({"title": "Volcanoes", "word_count": 300, "topic": "words"}),
    )
    found = verdict(prompt)
    assert found["result"] == "no" and "shares no content word" in found["rationale"]


def test_plain_text_fields_are_compared_too() -> None:
    found = verdict(relevance_to_query.get_prompt("What do bees eat?", "Bees eat nectar."))
    assert found["result"] == "yes" and "bees" in found["rationale"]


def test_what_it_cannot_measure_is_unknown_not_a_guess() -> None:
    found = verdict(safety.get_prompt(content="Honeybees carry pollen between flowers."))
    assert found["result"] == "unknown" and "cannot judge" in found["rationale"]


async def test_the_server_answers_a_judge_with_a_parsable_completion() -> None:
    prompt = relevance_to_query.get_prompt("Wind power", "Wind turbines turn wind into power.")
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://offline") as client:
        answer = await client.post("/v1/chat/completions", json=judge_request(prompt))
    assert answer.status_code == 200
    choice = answer.json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert json.loads(choice["message"]["content"])["result"] == "yes"
