"""API keys (api/security/auth.py) on a real server under uvicorn, tracing into a real MLflow
server: which routes need a key, what a caller without one is told, whose traces and sessions a
key's calls make, revoking a key by editing the key file, and no key in any trace, log or
answer. The server logs JSON (LOG_FORMAT=json), so its log is also read line by line here."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.security import keys
from testbed.servers import Server, start_traced_api, wait_for_trace

ADA, CI, TEMP = keys.new_key(), keys.new_key(), keys.new_key()
TOPIC = "How honeybees pollinate crops"
# Routes that serve no data, open with keys too: the probes, the docs and the page's files.
OPEN = {"/health", "/ready", "/docs", "/openapi.json", "/", "/static/app.js"}
EXAMPLE = {"session_id": "s-example", "run_id": "run-" + "0" * 32, "trace_id": "tr-" + "0" * 32}


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    file = tmp_path_factory.mktemp("keys") / "keys"
    file.write_text(
        "# the team's keys\n"
        + "".join(f"{keys.entry(name, key)}\n" for name, key in (("ada", ADA), ("temp", TEMP)))
    )
    return file


@pytest.fixture(scope="module")
def keyed(
    mlflow_url: str,
    synced_prompts: str,
    key_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    server = start_traced_api(
        tmp_path_factory.mktemp("api-keys"),
        mlflow_url,
        "tests-keys",
        API_KEYS=keys.entry("ci", CI),  # a key from the setting beside the file's
        API_KEYS_FILE=str(key_file),
        LOG_FORMAT="json",
    )
    yield server
    server.stop()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def write(server: Server, key: str | None, **body: Any) -> httpx.Response:
    return httpx.post(
        f"{server.url}/write",
        json={"topic": TOPIC, "target_words": 300, **body},
        headers=bearer(key) if key else {},
        timeout=120,
    )


def keyed_routes(server: Server) -> list[tuple[str, str]]:
    """Every (method, path) the OpenAPI document has, but the open ones, with example ids."""
    spec = httpx.get(f"{server.url}/openapi.json").json()
    return [
        (method.upper(), re.sub(r"\{(\w+)\}", lambda m: EXAMPLE[m.group(1)], path))
        for path, methods in spec["paths"].items()
        if path not in OPEN
        for method in methods
    ]


def test_the_probes_the_docs_and_the_page_need_no_key(keyed: Server) -> None:
    for path in OPEN:
        assert httpx.get(keyed.url + path).status_code == 200, path
    spec = httpx.get(f"{keyed.url}/openapi.json").json()
    # /docs offers the scheme ("Authorize"), and says which answers a 401 can come from.
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "401" in spec["paths"]["/write"]["post"]["responses"]


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        ({}, "send it as the header 'Authorization: Bearer <key>'"),
        ({"Authorization": f"Basic {ADA}"}, "send it as the header"),  # another scheme
        (bearer("awk_" + "x" * 43), "mistyped or revoked"),
        (bearer(ADA[:-1]), "mistyped or revoked"),
    ],
    ids=["none", "basic", "wrong", "truncated"],
)
def test_every_other_route_answers_401_saying_what_to_send(
    keyed: Server, headers: dict[str, str], said: str
) -> None:
    routes = keyed_routes(keyed)
    assert len(routes) >= 12  # write, stream, feedback, sessions, runs, traces, aliases
    for method, path in routes:
        answer = httpx.request(method, keyed.url + path, headers=headers, json={})
        assert answer.status_code == 401, (method, path, answer.text)
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        body = answer.json()
        assert body["error"] == "unauthorized" and said in body["message"]
        assert ADA not in answer.text and ADA[:-1] not in answer.text


def test_a_keys_name_is_the_traces_user_unless_a_user_is_named(
    keyed: Server, mlflow_url: str
) -> None:
    mine = write(keyed, ADA)
    assert mine.status_code == 200, mine.text
    theirs = write(keyed, CI, user_id="grace")  # a service writing for one of its users
    assert theirs.status_code == 200, theirs.text
    for answer, user, key_name in ((mine, "ada", "ada"), (theirs, "grace", "ci")):
        trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
        assert trace.info.request_metadata["mlflow.trace.user"] == user
        root = next(s for s in trace.data.spans if s.parent_id is None)
        assert root.inputs["key_name"] == key_name


def test_sessions_and_runs_belong_to_the_key_that_started_them(keyed: Server) -> None:
    session = write(keyed, ADA, user_id="grace").json()["session_id"]
    url = f"{keyed.url}/sessions/{session}"
    assert httpx.get(url, headers=bearer(ADA)).status_code == 200
    # The key owns it: another key naming the same user, or the first user, finds nothing.
    for params in ({}, {"user_id": "grace"}, {"user_id": "ada"}):
        assert httpx.get(url, params=params, headers=bearer(CI)).status_code == 404
    other = httpx.post(
        f"{url}/revise", json={"instruction": "make it shorter"}, headers=bearer(CI), timeout=60
    )
    assert other.status_code == 404 and other.json()["error"] == "unknown_session"
    taken = write(keyed, CI, session_id=session, user_id="grace")
    assert taken.status_code == 404

    started = httpx.post(
        f"{keyed.url}/write",
        json={"topic": TOPIC, "target_words": 300},
        headers={**bearer(ADA), "Prefer": "respond-async"},
    )
    assert started.status_code == 202, started.text
    run = keyed.url + started.headers["Location"]
    assert httpx.get(run, headers=bearer(CI)).status_code == 404
    assert httpx.get(run, headers=bearer(ADA)).status_code == 200


def _rewrite(path: Path, text: str) -> None:
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # seen even in one tick


def test_a_key_removed_from_the_file_is_refused_from_the_next_call(
    keyed: Server, key_file: Path
) -> None:
    aliases = f"{keyed.url}/prompts/aliases"
    assert httpx.get(aliases, headers=bearer(TEMP)).status_code == 200
    kept = key_file.read_text()
    _rewrite(key_file, kept.replace(keys.entry("temp", TEMP), "# temp: revoked"))
    refused = httpx.get(aliases, headers=bearer(TEMP))
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]
    assert httpx.get(aliases, headers=bearer(ADA)).status_code == 200  # the others stay
    assert httpx.get(aliases, headers=bearer(CI)).status_code == 200


def test_no_key_reaches_a_trace_a_log_or_an_answer(keyed: Server, mlflow_url: str) -> None:
    # A user pastes their key where it does not belong: in the topic, in a field that fails.
    pasted = write(keyed, ADA, topic=f"{TOPIC} {ADA}")
    # The key is one more word of the topic, which the library then does not cover: the
    # answer quotes the topic, without the key.
    assert pasted.status_code == 422 and pasted.json()["error"] == "no_sources", pasted.text
    assert "[REDACTED]" in pasted.json()["message"]
    invalid = write(keyed, ADA, audience=ADA * 3)  # too long: a 422 that names the field
    assert invalid.status_code == 422 and ADA not in invalid.text
    streamed = httpx.get(
        f"{keyed.url}/write/stream", params={"topic": f"{TOPIC} {CI}"}, headers=bearer(CI)
    )
    assert streamed.status_code == 200
    streamed_id = re.search(r'"trace_id": "(tr-[0-9a-f]{32})"', streamed.text)
    assert streamed_id
    traces = [
        json.loads(wait_for_trace(mlflow_url, trace_id).to_json())
        for trace_id in (pasted.json()["trace_id"], streamed_id.group(1))
    ]
    assert "[REDACTED]" in json.dumps(traces)
    for key in (ADA, CI, TEMP):
        assert not holding(traces, key)
        assert key not in pasted.text  # an error body; a stream echoes its caller's own text
        assert key not in keyed.output()


def holding(found: Any, text: str, path: str = "") -> list[str]:
    """Where in decoded JSON a string holds `text`: the paths, to say which field leaked."""
    if isinstance(found, dict):
        return [p for k, v in found.items() for p in holding(v, text, f"{path}/{k}")]
    if isinstance(found, list):
        return [p for i, v in enumerate(found) for p in holding(v, text, f"{path}/{i}")]
    return [path] if isinstance(found, str) and text in found else []


def test_the_log_is_json_lines_with_the_request_trace_and_user(keyed: Server) -> None:
    answer = write(keyed, ADA)
    assert answer.status_code == 200
    request_id, trace_id = answer.json()["request_id"], answer.json()["trace_id"]
    lines = [json.loads(line) for line in keyed.output().splitlines() if line.startswith("{")]
    # No Python log line in another shape: uvicorn's and MLflow's come through the JSON
    # handler too. (Native libraries may still write to stderr: fontconfig does, once.)
    plain = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)\b|^Traceback|^\d{4}-\d\d-\d\d ")
    others = [line for line in keyed.output().splitlines() if plain.match(line)]
    assert not others, others[:5]
    access = [
        line
        for line in lines
        if line["logger"] == "api.access" and line["request_id"] == request_id
    ]
    assert len(access) == 1, access
    (line,) = access
    assert line["method"] == "POST" and line["path"] == "/write" and line["status"] == 200
    assert line["trace_id"] == trace_id and line["user"] == "ada"
    assert line["duration_ms"] >= 0 and line["level"] == "INFO" and line["time"]
    # The query string stays out of the log: it can hold a user's text.
    httpx.get(f"{keyed.url}/traces", params={"q": "secret words"}, headers=bearer(ADA))
    assert "secret words" not in keyed.output()
    assert any(
        line["logger"] == "api.access" and line["path"] == "/traces"
        for line in map(
            json.loads, filter(lambda s: s.startswith("{"), keyed.output().splitlines())
        )
    )
