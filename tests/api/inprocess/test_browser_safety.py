"""What a browser is told (api/middleware.py, CORS in api/main.py): which other origins' pages
may call the API (CORS_ORIGINS, none by default), and the security headers on every answer."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cli.settings import Settings
from tests.api.inprocess.harness import Serve

APP = "https://app.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


async def test_an_allowed_origin_may_call_and_read_the_trace_id(serve: Serve) -> None:
    served = await serve(cors_origins=f"{APP}, http://localhost:3000")
    preflight = await served.client.options("/write", headers={"Origin": APP, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == APP
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    answer = await served.client.post(
        "/write", json={"topic": "How honeybees pollinate crops"}, headers={"Origin": APP}
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP
    assert "x-trace-id" in answer.headers["access-control-expose-headers"].lower()


async def test_other_origins_get_no_cors_headers(serve: Serve) -> None:
    served = await serve(cors_origins=APP)
    elsewhere = {"Origin": "https://evil.example.net"}
    preflight = await served.client.options("/write", headers={**elsewhere, **PREFLIGHT})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    answer = await served.client.get("/health", headers=elsewhere)
    assert "access-control-allow-origin" not in answer.headers


async def test_by_default_no_origin_is_allowed(serve: Serve) -> None:
    served = await serve()
    answer = await served.client.get("/health", headers={"Origin": APP})
    assert "access-control-allow-origin" not in answer.headers
    preflight = await served.client.options("/write", headers={"Origin": APP, **PREFLIGHT})
    assert "access-control-allow-origin" not in preflight.headers


async def test_every_answer_has_the_security_headers(serve: Serve) -> None:
    served = await serve()
    answers = {
        "health": await served.client.get("/health"),
        "invalid": await served.client.post("/write", json={"topic": "x"}),
        "unknown": await served.client.get("/no-such-route"),
        "page": await served.client.get("/"),
        "script": await served.client.get("/static/app.js"),
        "docs": await served.client.get("/docs"),
    }
    for name, answer in answers.items():
        assert answer.headers["x-content-type-options"] == "nosniff", name
        assert answer.headers["referrer-policy"] == "no-referrer", name
        assert answer.headers["x-frame-options"] == "DENY", name
    for name in ("health", "invalid", "unknown", "script"):
        policy = answers[name].headers["content-security-policy"]
        assert policy == "default-src 'none'; frame-ancestors 'none'", name
    # The page keeps its own policy; /docs has none, since it loads Swagger UI's scripts.
    assert "script-src 'self'" in answers["page"].headers["content-security-policy"]
    assert "content-security-policy" not in answers["docs"].headers


@pytest.mark.parametrize("origins", ["*", "https://app.example.com/", "app.example.com", "ftp://x"])
def test_cors_origins_are_an_allowlist_of_exact_origins(origins: str) -> None:
    with pytest.raises(ValidationError, match=r"CORS_ORIGINS: .* is not an origin"):
        Settings(_env_file=None, cors_origins=origins)
