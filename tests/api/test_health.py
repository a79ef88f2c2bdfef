"""GET /health and GET /ready, with the tracking server up."""

from __future__ import annotations

import httpx

from tests.servers import Server


def test_health_answers(api: Server) -> None:
    answer = httpx.get(f"{api.url}/health", timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_ready_checks_tracking_and_sources(api: Server) -> None:
    ready = httpx.get(f"{api.url}/ready", timeout=10).json()
    assert ready["status"] == "ready" and ready["reasons"] == []
    assert ready["checks"]["tracking"]["ok"]
    assert "agent version article-writer-" in ready["checks"]["tracking"]["detail"]
    assert "36 documents" in ready["checks"]["sources"]["detail"]
    assert ready["checks"]["model"]["detail"] == "offline: offline-writer"
