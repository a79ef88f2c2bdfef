"""GET /ready with a tracking server up, over real HTTP (health and the degraded answers are
tests/api/inprocess/test_operations.py's)."""

from __future__ import annotations

import httpx

from testbed.servers import Server


def test_ready_checks_tracking_and_sources(api: Server) -> None:
    ready = httpx.get(f"{api.url}/ready", timeout=10).json()
    assert ready["status"] == "ready" and ready["reasons"] == []
    assert ready["checks"]["tracking"]["ok"]
    assert "agent version article-writer-" in ready["checks"]["tracking"]["detail"]
    assert "36 documents" in ready["checks"]["sources"]["detail"]
    assert ready["checks"]["model"]["detail"] == "offline: offline-writer"
