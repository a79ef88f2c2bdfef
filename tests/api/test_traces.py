"""GET /traces over real HTTP: this app's traces found by user, session, status, time and text,
page by page; bad parameters told; an injection attempt in `q` finds nothing and breaks nothing."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from testbed.servers import Server, wait_for_trace, writer_cli


def traces(api: Server, **params: object) -> httpx.Response:
    return httpx.get(f"{api.url}/traces", params=params, timeout=60)


@pytest.fixture(scope="module")
def written(api: Server, mlflow_url: str) -> dict[str, Any]:
    """Three articles by one user (two in one session) and one refused, all stored."""
    user = f"u-{uuid.uuid4().hex[:8]}"
    session = f"s-{uuid.uuid4().hex[:8]}"
    bodies = [
        {"topic": "Coral reefs", "user_id": user, "session_id": session},
        {"topic": "Honeybees", "user_id": user, "session_id": session},
        {"topic": "Solar power", "user_id": user},
        {"topic": "Medieval castle architecture", "user_id": user},
    ]
    ids = []
    for body in bodies:
        answer = httpx.post(f"{api.url}/write", json=body, timeout=120)
        ids.append(answer.json()["trace_id"])
        wait_for_trace(mlflow_url, ids[-1])
    return {"user": user, "session": session, "ids": ids}


def found(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [t["trace_id"] for t in answer.json()["traces"]]


def test_a_users_traces_newest_first_with_what_a_list_shows(
    api: Server, written: dict[str, Any]
) -> None:
    answer = traces(api, user_id=written["user"])
    assert found(answer) == list(reversed(written["ids"]))
    newest = answer.json()["traces"][0]
    assert newest["user_id"] == written["user"] and newest["status"] == "ERROR"
    assert newest["topic"] == "Medieval castle architecture" and newest["outcome"] == "no_sources"
    oldest = answer.json()["traces"][-1]
    assert oldest["session_id"] == written["session"] and oldest["tokens"] > 0
    assert oldest["title"].endswith("words)") and oldest["trace_url"].endswith(oldest["trace_id"])


def test_filters_by_session_status_time_and_text(api: Server, written: dict[str, Any]) -> None:
    user, ids = written["user"], written["ids"]
    assert found(traces(api, session_id=written["session"])) == [ids[1], ids[0]]
    assert found(traces(api, user_id=user, status="ERROR")) == [ids[3]]
    assert found(traces(api, user_id=user, status="OK")) == [ids[2], ids[1], ids[0]]
    assert found(traces(api, user_id=user, q="honeybees")) == [ids[1]]
    assert found(traces(api, user_id=user, since="1h")) == list(reversed(ids))
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=20)).isoformat()
    a_bit_later = (dt.datetime.now(dt.UTC) - dt.timedelta(days=19)).isoformat()
    assert found(traces(api, user_id=user, since=long_ago, until=a_bit_later)) == []


def test_pages_follow_each_other_without_repeats(api: Server, written: dict[str, Any]) -> None:
    first = traces(api, user_id=written["user"], limit=3)
    token = first.json()["next_page_token"]
    assert len(found(first)) == 3 and token
    rest = traces(api, user_id=written["user"], limit=3, page_token=token)
    assert found(first) + found(rest) == list(reversed(written["ids"]))


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"status": "BROKEN"}, "status"),
        ({"user_id": "a b"}, "user_id"),
        ({"since": "yesterday"}, "15m, 1h or 7d"),
        ({"since": "60d"}, "at most 31 days"),
        ({"since": "1h", "until": "2h"}, "since must be before until"),
        ({"page_token": "not-a-token"}, "page_token"),
    ],
)
def test_bad_parameters_are_told(api: Server, params: dict[str, object], says: str) -> None:
    answer = traces(api, **params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid_request" and says in answer.json()["message"]


@pytest.mark.parametrize(
    "attempt",
    ["' OR trace.status = 'OK", "%' OR '1'='1", "x`) OR (1=1", "honeybees' --", "%%%_"],
)
def test_an_injection_in_the_text_finds_nothing_and_errors_nothing(
    api: Server, written: dict[str, Any], attempt: str
) -> None:
    assert found(traces(api, user_id=written["user"], q=attempt)) == []


def test_writer_traces_prints_the_same(
    written: dict[str, Any], mlflow_url: str, tmp_path: Path
) -> None:
    env = {"MLFLOW_TRACKING_URI": mlflow_url, "MLFLOW_EXPERIMENT_NAME": "tests"}
    listed = writer_cli("traces", "--user", written["user"], "--json", cwd=tmp_path, **env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert [row["trace_id"] for row in json.loads(listed.stdout)] == list(reversed(written["ids"]))
    errors = writer_cli(
        "traces",
        "--user",
        written["user"],
        "--status",
        "ERROR",
        "--since",
        "1h",
        cwd=tmp_path,
        **env,
    )
    assert errors.returncode == 0 and written["ids"][3] in errors.stdout
    assert "Medieval castle architecture -> error: no_sources" in errors.stdout
    assert written["ids"][0] not in errors.stdout
    bad = writer_cli("traces", "--since", "yesterday", cwd=tmp_path, **env)
    assert bad.returncode == 2 and "15m, 1h or 7d" in bad.stderr
