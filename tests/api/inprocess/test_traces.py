"""GET /traces and /analytics/tools when the tracking server does not answer: a 503 that says
so, quickly."""

from __future__ import annotations

import pytest

from testbed.servers import free_port
from tests.api.inprocess.harness import Serve


@pytest.mark.parametrize("path", ["/traces?user_id=ada", "/analytics/tools?since=1d"])
async def test_no_tracking_server_is_a_503(serve: Serve, path: str) -> None:
    served = await serve(mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}")
    answer = await served.client.get(path)
    assert answer.status_code == 503
    assert answer.json()["error"] == "tracking_unavailable"
