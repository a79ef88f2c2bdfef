"""GET /health, GET /ready with tracing off, the OpenAPI document, and /debug/runtime."""

from __future__ import annotations

import httpx

from service.versions import APP_VERSION
from tests.api.inprocess.harness import Serve


async def test_health_answers_with_the_version(client: httpx.AsyncClient) -> None:
    answer = await client.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "version": APP_VERSION}


async def test_ready_says_tracing_is_off_and_why_it_is_degraded(client: httpx.AsyncClient) -> None:
    answer = await client.get("/ready")
    assert answer.status_code == 200  # degraded still serves articles
    ready = answer.json()
    checks = ready["checks"]
    assert checks["tracking"] == {
        "ok": True,
        "detail": "tracing is turned off (TRACING_ENABLED=false)",
    }
    assert checks["sources"]["ok"] and "36 documents" in checks["sources"]["detail"]
    assert checks["model"] == {"ok": True, "detail": "offline: offline-writer"}
    # Nothing is synced to this store: the one reason, and the command that fixes it.
    assert not checks["prompts"]["ok"]
    assert ready["status"] == "degraded"
    assert ready["reasons"] == [f"prompts: {checks['prompts']['detail']}"]
    assert "writer prompts sync" in ready["reasons"][0]


async def test_openapi_documents_every_error_a_client_can_get(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    error_body = {"$ref": "#/components/schemas/ErrorBody"}

    def documented(path: str, method: str) -> dict[str, dict]:
        return spec["paths"][path][method]["responses"]

    write = documented("/write", "post")
    for status in ("413", "422", "500", "502", "503", "504"):
        assert write[status]["content"]["application/json"]["schema"] == error_body, status
    assert "text/event-stream" in write["200"]["content"]  # the stream is documented
    assert "no_sources" in write["422"]["description"]
    for status in ("404", "422", "503"):
        assert documented("/feedback", "post")[status]["content"]["application/json"]["schema"] == (
            error_body
        )
    fields = spec["components"]["schemas"]["ErrorBody"]["properties"]
    assert {"error", "message", "trace_id", "request_id", "fields", "closest_sources"} <= set(
        fields
    )


async def test_runtime_stats_are_served_only_when_turned_on(
    client: httpx.AsyncClient, serve: Serve
) -> None:
    assert (await client.get("/debug/runtime")).status_code == 404
    served = await serve(runtime_stats_enabled=True)
    stats = (await served.client.get("/debug/runtime")).json()
    assert set(stats) == {
        "tasks",
        "in_memory_traces",
        "rss_bytes",
        "traces_dropped",
        "export_queue_full_warnings",
    }
    assert stats["rss_bytes"] > 0 and stats["in_memory_traces"] == 0  # tracing is off
    assert "/debug/runtime" not in (await client.get("/openapi.json")).json()["paths"]
