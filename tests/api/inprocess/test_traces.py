"""GET /traces when the tracking server does not answer: a 503 that says so, quickly."""

from __future__ import annotations

from tests.api.inprocess.harness import Serve
from tests.servers import free_port


async def test_no_tracking_server_is_a_503(serve: Serve) -> None:
    served = await serve(mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}")
    answer = await served.client.get("/traces", params={"user_id": "ada"})
    assert answer.status_code == 503
    assert answer.json()["error"] == "tracking_unavailable"
