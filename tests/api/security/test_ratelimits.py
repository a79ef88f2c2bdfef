"""Rate limits (api/security/ratelimit_routes.py) on real servers under uvicorn: the 61st request
in a minute, per API key or per address, articles in flight, and one limit shared by two
processes through a real Redis (testbed/redis.py), which, when it goes down, lets requests through
and says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.security import keys
from testbed.redis import redis_server
from testbed.servers import Server, start_api

ADA, GRACE = keys.new_key(), keys.new_key()
ALIASES = "/prompts/aliases"  # the cheapest route that counts


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("api-limits")
    server = start_api(
        work,
        TRACING_ENABLED="false",
        MLFLOW_TRACKING_URI=f"sqlite:///{work}/mlflow.db",
        API_KEYS=f"{keys.entry('ada', ADA)},{keys.entry('grace', GRACE)}",
        RATE_LIMIT_PER_MINUTE="60",  # the default, said here because tests turn it off
        RATE_LIMIT_IN_FLIGHT="1",
        OFFLINE_TOKEN_DELAY_MS="5",  # an article takes seconds: a slot stays held a while
    )
    yield server
    server.stop()


def test_the_61st_request_in_a_minute_waits_and_says_how_long(limited: Server) -> None:
    with httpx.Client(base_url=limited.url, headers=bearer(ADA)) as client:
        answers = [client.get(ALIASES).status_code for _ in range(60)]
        assert answers == [200] * 60
        refused = client.get(ALIASES)
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert "More than 60 requests a minute" in refused.json()["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another key has its own minute; the probes are never limited.
    assert httpx.get(limited.url + ALIASES, headers=bearer(GRACE)).status_code == 200
    assert httpx.get(limited.url + "/health").status_code == 200
    assert httpx.get(limited.url + "/ready").status_code == 200


def test_one_article_in_flight_per_caller(limited: Server) -> None:
    body = {"topic": "How honeybees pollinate crops", "target_words": 600}
    with httpx.Client(base_url=limited.url, headers=bearer(GRACE), timeout=120) as client:
        started = client.post("/write", json=body, headers={"Prefer": "respond-async"})
        assert started.status_code == 202, started.text
        second = client.post("/write", json=body)
        assert second.status_code == 429, second.text
        assert second.json()["error"] == "too_many_in_flight"
        assert int(second.headers["Retry-After"]) >= 1
        # The run ends and gives its slot back: the next article is written. Its event stream
        # ends with it, and waiting on it is one request (polling would spend the minute's).
        run = started.headers["Location"]
        client.get(run + "/events").raise_for_status()
        assert client.get(run).json()["status"] == "done"
        assert client.post("/write", json={**body, "target_words": 150}).status_code == 200


@pytest.mark.redis
def test_two_processes_share_one_limit_through_redis(tmp_path: Path) -> None:
    with redis_server() as redis:
        env = {
            "TRACING_ENABLED": "false",
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
            "RATE_LIMIT_URL": redis,
            "RATE_LIMIT_PER_MINUTE": "10",
        }
        one = start_api(tmp_path, **env)
        two = start_api(tmp_path, **env)
        try:
            # Keys off: the caller is the address, 127.0.0.1, on both.
            statuses = [httpx.get(s.url + ALIASES).status_code for s in (one, two) * 5]
            assert statuses == [200] * 10
            assert httpx.get(one.url + ALIASES).status_code == 429
            assert httpx.get(two.url + ALIASES).status_code == 429
        finally:
            for server in (one, two):
                server.stop()


@pytest.mark.redis
def test_without_its_redis_the_limit_lets_requests_through_and_says_so(tmp_path: Path) -> None:
    with redis_server() as redis:
        server = start_api(
            tmp_path,
            TRACING_ENABLED="false",
            MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/mlflow.db",
            RATE_LIMIT_URL=redis,
            RATE_LIMIT_PER_MINUTE="2",
        )
    try:  # the Redis has stopped
        assert [httpx.get(server.url + ALIASES).status_code for _ in range(4)] == [200] * 4
        assert "rate limits are not applied: their Redis failed" in server.output()
        assert server.output().count("rate limits are not applied") == 1  # said once
    finally:
        server.stop()
