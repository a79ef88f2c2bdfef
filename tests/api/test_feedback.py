"""Readers' feedback over HTTP, stored on the trace in the tracking server."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from testbed.servers import Server, free_port, start_traced_api, wait_for_trace


@pytest.fixture(scope="module")
def article_trace(api: Server, mlflow_url: str) -> str:
    answer = httpx.post(f"{api.url}/write", json={"topic": "Literacy"}, timeout=60)
    trace_id = answer.json()["trace_id"]
    wait_for_trace(mlflow_url, trace_id)
    return str(trace_id)


def rate(api: Server, **body: object) -> httpx.Response:
    return httpx.post(f"{api.url}/feedback", json=body, timeout=30)


def test_feedback_lands_on_the_trace_and_a_second_rating_replaces_the_first(
    api: Server, mlflow_url: str, article_trace: str
) -> None:
    first = rate(api, trace_id=article_trace, value=2, user_id="ada", comment="Too dry")
    assert first.status_code == 201 and first.json()["overrides"] is None
    second = rate(api, trace_id=article_trace, value=5, user_id="ada", comment="Better")
    assert second.status_code == 201
    assert second.json()["overrides"] == first.json()["assessment_id"]
    thumbs = rate(api, trace_id=article_trace, value="up", user_id="grace")
    assert thumbs.json()["name"] == "thumbs" and thumbs.json()["value"] is True

    listed = httpx.get(f"{api.url}/traces/{article_trace}/feedback", timeout=30).json()
    current = {(a["name"], a["source_id"]): a for a in listed if a["current"]}
    assert current[("rating", "ada")]["value"] == 5
    assert current[("rating", "ada")]["comment"] == "Better"
    assert current[("thumbs", "grace")]["value"] is True
    assert [a["value"] for a in listed if not a["current"]] == [2]
    assert all(a["source_type"] == "HUMAN" for a in listed)

    trace = wait_for_trace(mlflow_url, article_trace)
    stored = {(a.name, a.source.source_id, a.valid) for a in trace.info.assessments}
    assert {("rating", "ada", True), ("rating", "ada", False), ("thumbs", "grace", True)} <= stored


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"trace_id": None, "value": 3, "user_id": "ada"}, "trace_id"),
        ({"trace_id": "tr-123", "value": 3, "user_id": "ada"}, "trace_id"),
        ({"value": 6, "user_id": "ada"}, "less than or equal to 5"),
        ({"value": 0, "user_id": "ada"}, "greater than or equal to 1"),
        ({"value": "sideways", "user_id": "ada"}, "value"),
        ({"value": True, "user_id": "ada"}, '"up"/"down"'),
        ({"value": 3}, "user_id"),
        ({"value": 3, "user_id": "ada", "mood": "x"}, "Unknown field"),
    ],
)
def test_invalid_feedback_is_refused(
    api: Server, article_trace: str, body: dict, says: str
) -> None:
    answer = rate(
        api, **{k: v for k, v in {"trace_id": article_trace, **body}.items() if v is not None}
    )
    assert answer.status_code == 422
    assert says in answer.json()["message"]


def test_feedback_on_an_unknown_trace_is_404_after_waiting_for_it(api: Server) -> None:
    unknown = "tr-" + "0" * 32
    started = time.monotonic()
    answer = rate(api, trace_id=unknown, value="down", user_id="ada")
    assert answer.status_code == 404 and answer.json()["error"] == "trace_not_found"
    assert 3 <= time.monotonic() - started < 10  # FEEDBACK_WAIT_SECONDS, then the answer
    assert "waited 3 s" in answer.json()["message"]
    listed = httpx.get(f"{api.url}/traces/{unknown}/feedback", timeout=30)
    assert listed.status_code == 404
    assert httpx.get(f"{api.url}/traces/nope/feedback", timeout=30).status_code == 422


def test_a_rating_given_the_moment_the_article_arrives_is_stored(
    api: Server, mlflow_url: str
) -> None:
    """A reader's thumbs-up races the background export of the trace: it must never lose."""
    with httpx.Client(base_url=api.url, timeout=60) as client:
        rated = []
        for n in range(20):
            article = client.post("/write", json={"topic": "Literacy", "target_words": 150})
            trace_id = article.json()["trace_id"]
            answer = client.post(
                "/feedback", json={"trace_id": trace_id, "value": "up", "user_id": f"r{n}"}
            )
            assert answer.status_code == 201, (n, answer.text)
            listed = client.get(f"/traces/{trace_id}/feedback")
            assert [a["source_id"] for a in listed.json()] == [f"r{n}"]
            rated.append(trace_id)
    stored = wait_for_trace(mlflow_url, rated[-1])
    assert [a.name for a in stored.info.assessments] == ["thumbs"]


def test_a_malformed_trace_id_is_told_what_a_trace_id_looks_like(api: Server) -> None:
    answer = rate(api, trace_id="tr-0000", value="up", user_id="ada")
    assert answer.status_code == 422
    assert "tr- followed by 32" in answer.json()["message"]
    listed = httpx.get(f"{api.url}/traces/tr-0000/feedback", timeout=30)
    assert "tr- followed by 32" in listed.json()["message"]
    user = rate(api, trace_id="tr-" + "0" * 32, value="up", user_id="a b")
    assert "letters, digits" in user.json()["message"]


def test_feedback_while_the_tracking_server_is_down_is_503(tmp_path: Path) -> None:
    """Nothing to wait for when the server does not answer: 503 at once, with Retry-After."""
    dead = f"http://127.0.0.1:{free_port()}"
    api = start_traced_api(tmp_path, dead, "down", MLFLOW_HTTP_MAX_RETRIES="0")
    try:
        started = time.monotonic()
        answer = rate(api, trace_id="tr-" + "1" * 32, value="up", user_id="ada")
        assert answer.status_code == 503 and answer.json()["error"] == "tracking_unavailable"
        assert answer.headers["Retry-After"] and time.monotonic() - started < 3
        listed = httpx.get(f"{api.url}/traces/{'tr-' + '1' * 32}/feedback", timeout=30)
        assert listed.status_code == 503
    finally:
        api.stop()
