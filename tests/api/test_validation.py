"""Bad input gets a 4xx whose message says what to fix; nothing crashes."""

from __future__ import annotations

import httpx
import pytest

from tests.servers import Server

CASES = [
    ({}, "topic", "Field required"),
    ({"topic": ""}, "topic", "at least 3 characters"),
    ({"topic": "   "}, "topic", "at least 3 characters"),
    ({"topic": "x" * 301}, "topic", "at most 300 characters"),
    ({"topic": 42}, "topic", "valid string"),
    ({"topic": ["a", "b"]}, "topic", "valid string"),
    ({"topic": "Bees", "target_words": "many"}, "target_words", "valid integer"),
    ({"topic": "Bees", "target_words": 5}, "target_words", "greater than or equal to 150"),
    ({"topic": "Bees", "target_words": 99999}, "target_words", "less than or equal to 2000"),
    ({"topic": "Bees", "colour": "red"}, "colour", "Unknown field"),
    ({"topic": "Bees", "user_id": "a b/c"}, "user_id", "letters, digits"),
    ({"topic": "Bees", "audience": None}, "audience", "valid string"),
]


@pytest.mark.parametrize(("body", "field", "says"), CASES)
def test_invalid_fields_are_named_with_a_fix(
    api: Server, body: dict, field: str, says: str
) -> None:
    answer = httpx.post(f"{api.url}/write", json=body, timeout=10)
    assert answer.status_code == 422
    error = answer.json()
    assert error["error"] == "invalid_request"
    assert field in error["message"] and says in error["message"]
    assert {"field": field, "message": error["fields"][0]["message"]} in error["fields"]
    assert error["request_id"] == answer.headers["X-Request-Id"]


@pytest.mark.parametrize(
    ("content", "content_type", "says"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b"topic=bees", "application/x-www-form-urlencoded", "Send a JSON object"),
        (b"[1, 2]", "application/json", "Send a JSON object"),
        (b"", "application/json", "Field required"),
        # Not UTF-8, or nested deeper than the parser goes: FastAPI answered these with a 400.
        (b'{"topic": "\xe9t\xe9"}', "application/json", "encoded as UTF-8"),  # Latin-1
        (b"[" * 5000, "application/json", "cannot be read as JSON"),  # nested too deep
    ],
)
def test_bodies_that_are_not_a_json_object(
    api: Server, content: bytes, content_type: str, says: str
) -> None:
    answer = httpx.post(
        f"{api.url}/write", content=content, headers={"Content-Type": content_type}, timeout=10
    )
    assert answer.status_code == 422
    assert says in answer.json()["message"]


def test_oversized_bodies_are_refused_before_they_are_read(api: Server) -> None:
    big = b'{"topic": "' + b"x" * 20_000 + b'"}'
    declared = httpx.post(
        f"{api.url}/write", content=big, timeout=10, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413
    assert "larger than 16384 bytes" in declared.json()["message"]

    def chunks():  # no Content-Length: the limit counts what arrives
        for _ in range(30):
            yield b"x" * 1000

    streamed = httpx.post(
        f"{api.url}/write",
        content=chunks(),
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413


def test_wrong_method_and_unknown_path(api: Server) -> None:
    wrong = httpx.get(f"{api.url}/write", timeout=10)
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"
    assert wrong.headers["Allow"] == "POST"  # what to use instead
    missing = httpx.get(f"{api.url}/nowhere", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_the_server_still_writes_after_all_that(api: Server) -> None:
    answer = httpx.post(f"{api.url}/write", json={"topic": "Roman aqueducts"}, timeout=60)
    assert answer.status_code == 200


def test_openapi_documents_the_contract(api: Server) -> None:
    spec = httpx.get(f"{api.url}/openapi.json", timeout=10).json()
    write = spec["paths"]["/write"]["post"]
    assert {"200", "413", "422", "502", "503", "504"} <= set(write["responses"])
    body = spec["components"]["schemas"]["WriteBody"]
    assert body["examples"][0]["topic"]
    assert body["properties"]["topic"]["maxLength"] == 300
