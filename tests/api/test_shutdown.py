"""SIGTERM under load, as a deploy or a scale-down sends it to `writer serve`."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path

import httpx

from testbed.servers import (
    Load,
    Server,
    clean_env,
    free_port,
    start_process,
    stored_traces,
    wait_for_trace,
    wait_healthy,
)


def serve(workdir: Path, mlflow_url: str, experiment: str, **settings: str) -> Server:
    """`writer serve`, as deployed (uvicorn.run with the grace period), tracing into mlflow_url."""
    port = free_port()
    env = clean_env(
        API_PORT=str(port),
        MLFLOW_TRACKING_URI=mlflow_url,
        MLFLOW_EXPERIMENT_NAME=experiment,
        **settings,
    )
    api = start_process([sys.executable, "-m", "cli", "serve"], workdir, env, port)
    wait_healthy(api)
    return api


def stream_reader(api: Server, events: list[tuple[str, str]]) -> threading.Thread:
    """A thread that streams one article and collects its (event, data) pairs."""

    def read() -> None:
        with httpx.stream(
            "POST",
            f"{api.url}/write",
            json={"topic": "Coral reefs"},
            headers={"Accept": "text/event-stream"},
            timeout=60,
        ) as answer:
            kind = ""
            for line in answer.iter_lines():
                if line.startswith("event:"):
                    kind = line.removeprefix("event:").strip()
                elif line.startswith("data:"):
                    events.append((kind, line.removeprefix("data:").strip()))

    return threading.Thread(target=read)


def test_sigterm_lets_requests_in_flight_finish_and_writes_their_traces(
    mlflow_url: str, synced_prompts: str, tmp_path: Path
) -> None:
    # Articles of a few seconds, so some are in flight when the signal comes.
    api = serve(tmp_path, mlflow_url, "tests-sigterm", OFFLINE_TOKEN_DELAY_MS="1")
    events: list[tuple[str, str]] = []
    reader = stream_reader(api, events)
    try:
        with Load(api.url, workers=4) as load:
            reader.start()
            time.sleep(1.5)
            api.process.send_signal(signal.SIGTERM)
            api.process.wait(timeout=60)
        reader.join(timeout=60)
    finally:
        api.stop()

    # uvicorn re-raises the signal once it has shut down cleanly.
    assert api.process.returncode == -signal.SIGTERM, api.output()[-2000:]
    answered = [o for o in load.outcomes if o.status is not None]
    assert answered, "requests were in flight when the signal came"
    assert {o.status for o in answered} == {200}
    kinds = [kind for kind, _ in events]
    assert kinds and kinds[0] == "trace" and kinds[-1] == "done", kinds
    # Written before the process ended: no waiting here.
    stored = stored_traces(mlflow_url, "tests-sigterm")
    assert {o.trace_id for o in answered} <= stored.keys()
    assert len(stored) == len(answered) + 1  # and the stream's


def test_articles_that_outlast_the_grace_period_end_cleanly_and_are_traced(
    mlflow_url: str, synced_prompts: str, tmp_path: Path
) -> None:
    # An article takes far longer than the grace period.
    api = serve(
        tmp_path,
        mlflow_url,
        "tests-sigterm-grace",
        OFFLINE_TOKEN_DELAY_MS="20",
        SHUTDOWN_GRACE_SECONDS="6",  # the run is stopped 2 s before it ends
    )
    events: list[tuple[str, str]] = []
    reader = stream_reader(api, events)
    try:
        reader.start()
        time.sleep(2)
        started = time.monotonic()
        api.process.send_signal(signal.SIGTERM)
        api.process.wait(timeout=30)
        stopped_after = time.monotonic() - started
        reader.join(timeout=30)
    finally:
        api.stop()

    assert api.process.returncode == -signal.SIGTERM
    assert stopped_after < 6 + 5, "the grace period bounds the shutdown"
    kind, data = events[-1]
    assert kind == "error"
    error = json.loads(data)
    assert error["code"] == "shutting_down" and "Try again" in error["message"]
    trace = wait_for_trace(mlflow_url, error["trace_id"], timeout_s=10)
    assert trace.info.state.value == "ERROR"
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.attributes["cancelled"] is True
