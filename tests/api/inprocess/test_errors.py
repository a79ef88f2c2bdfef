"""Requests the API refuses, as a client reads the refusal: a status, a stable code, and a
message that names the field and says how to fix it (api/errors.py, api/schemas.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api.inprocess.harness import Serve

TRACE = "tr-" + "0123456789abcdef" * 2  # well formed; no such trace is stored
TRACE_RULE = "A trace id is tr- followed by 32 lowercase hex digits"

WRITE_CASES = [
    ({}, "topic", "Field required"),
    ({"topic": "  "}, "topic", "at least 3 characters"),  # whitespace only is empty
    ({"topic": "x" * 301}, "topic", "at most 300 characters"),
    ({"topic": 42}, "topic", "valid string"),
    ({"topic": "Bees", "audience": ""}, "audience", "at least 1 character"),
    ({"topic": "Bees", "tone": "x" * 61}, "tone", "at most 60 characters"),
    ({"topic": "Bees", "target_words": "many"}, "target_words", "valid integer"),
    ({"topic": "Bees", "target_words": 149}, "target_words", "greater than or equal to 150"),
    ({"topic": "Bees", "target_words": 2001}, "target_words", "less than or equal to 2000"),
    # Patterns are explained in words (PATTERN_RULES), never shown as a regular expression.
    ({"topic": "Bees", "user_id": "a b/c"}, "user_id", "Use 1-128 letters, digits or . _ : @ -"),
    ({"topic": "Bees", "session_id": ""}, "session_id", "Use 1-128 letters, digits"),
    ({"topic": "Bees", "prompt_alias": "no way"}, "prompt_alias", "such as staging or production"),
    ({"topic": "Bees", "colour": "red"}, "colour", "Unknown field: remove it"),
]


FEEDBACK_CASES = [
    ({"trace_id": "tr-123", "value": "up", "user_id": "ada"}, "trace_id", TRACE_RULE),
    ({"trace_id": TRACE.upper(), "value": "up", "user_id": "ada"}, "trace_id", TRACE_RULE),
    ({"trace_id": TRACE, "value": True, "user_id": "ada"}, "value", 'use "up"/"down" or a number'),
    ({"trace_id": TRACE, "value": "up"}, "user_id", "Field required"),
    ({"trace_id": TRACE, "value": 4, "user_id": "ada", "comment": "x" * 2001}, "comment", "2000"),
]


@pytest.mark.parametrize(
    ("path", "body", "field", "says"),
    [("/write", *case) for case in WRITE_CASES] + [("/feedback", *case) for case in FEEDBACK_CASES],
)
async def test_an_invalid_body_names_the_field_and_the_fix(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], field: str, says: str
) -> None:
    answer = await client.post(path, json=body)
    assert answer.status_code == 422
    error = answer.json()
    assert error["error"] == "invalid_request"
    [problem] = error["fields"]
    assert problem["field"] == field and says in problem["message"]
    assert "^" not in problem["message"]  # no regular expression
    assert error["message"] == f"{field}: {problem['message']}"
    assert error["request_id"] == answer.headers["X-Request-Id"]


@pytest.mark.parametrize(("value", "says"), [(6, "less than or equal to 5"), ("sideways", "'up'")])
async def test_a_rating_out_of_range_is_told_by_the_fields_name_alone(
    client: httpx.AsyncClient, value: object, says: str
) -> None:
    answer = await client.post(
        "/feedback", json={"trace_id": TRACE, "value": value, "user_id": "a"}
    )
    [problem] = answer.json()["fields"]  # the union's two members: one problem, both rules
    assert problem["field"] == "value" and says in problem["message"]
    assert "'up' or 'down'" in problem["message"] and "; or " in problem["message"]


async def test_a_malformed_trace_id_in_the_path_is_explained_too(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/traces/not-a-trace/feedback")
    assert answer.status_code == 422
    [problem] = answer.json()["fields"]
    assert problem["field"] == "path.trace_id" and TRACE_RULE in problem["message"]


async def test_feedback_on_a_trace_that_does_not_exist_is_404_after_a_short_wait(
    serve: Serve,
) -> None:
    served = await serve(feedback_wait_seconds=0.2)
    answer = await served.client.post(
        "/feedback", json={"trace_id": TRACE, "value": "up", "user_id": "ada"}
    )
    assert answer.status_code == 404
    body = answer.json()
    assert body["error"] == "trace_not_found" and body["trace_id"] == TRACE
    assert "use the trace_id that /write returned" in body["message"]


@pytest.mark.parametrize(
    ("content", "content_type", "says"),
    [
        (b"{not json", "application/json", "The request body is not valid JSON."),
        (b"topic=bees", "application/x-www-form-urlencoded", "Send a JSON object"),
        (b"[1, 2]", "application/json", "Send a JSON object"),
        (b'{"topic": "\xe9t\xe9"}', "application/json", "encoded as UTF-8"),  # Latin-1
        (b"[" * 5000, "application/json", "cannot be read as JSON"),  # nested too deep
    ],
)
async def test_a_body_that_is_not_a_json_object_is_a_422_not_a_400(
    client: httpx.AsyncClient, content: bytes, content_type: str, says: str
) -> None:
    answer = await client.post("/write", content=content, headers={"Content-Type": content_type})
    assert answer.status_code == 422
    error = answer.json()
    assert error["error"] == "invalid_request" and says in error["message"]
    assert error["fields"][0]["field"] == "body"


async def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(
    serve: Serve,
) -> None:
    served = await serve(max_body_bytes=2048)
    body = b'{"topic": "' + b"x" * 3000 + b'"}'
    declared = await served.client.post(
        "/write", content=body, headers={"Content-Type": "application/json", "X-Request-Id": "b1"}
    )
    assert declared.status_code == 413
    assert declared.json() == {
        "error": "body_too_large",
        "message": "The request body is larger than 2048 bytes.",
        "request_id": "b1",
    }

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit counts bytes
        for _ in range(30):
            yield b"x" * 100

    streamed = await served.client.post(
        "/write", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413 and streamed.json()["error"] == "body_too_large"

    # Under the limit, the same route reads the body: its problem is the topic, not the size.
    small = await served.client.post("/write", json={"topic": "x" * 301})
    assert small.status_code == 422


async def test_an_unknown_path_and_a_wrong_method_answer_in_the_same_shape(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/nowhere", headers={"X-Request-Id": "n1"})
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "message": "Not Found",
        "trace_id": None,
        "request_id": "n1",
    }
    wrong = await client.get("/write")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "method_not_allowed"
    assert wrong.headers["Allow"] == "POST"  # what to use instead
