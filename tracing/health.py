"""Whether the tracking server answers, and the links into its UI."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

import httpx
import mlflow

from tracing.settings import TracingSettings

log = logging.getLogger(__name__)


class TrackingConnection:
    """Whether the tracking server answers, and the experiment traces go to.

    The app serves articles whether or not the server is up; this only decides what `/ready`
    says and whether trace links can be built. `keep_checking` retries until it connects.
    """

    def __init__(self, settings: TracingSettings) -> None:
        self.settings = settings
        self.experiment_id: str | None = None
        self.problem: str | None = "not checked yet"

    async def check(self) -> bool:
        uri = self.settings.mlflow_tracking_uri
        if not await server_answers(uri):
            self.problem = f"tracking server {public_uri(uri)} is unreachable"
            return False
        if self.experiment_id is None:
            try:
                experiment = await asyncio.to_thread(
                    mlflow.set_experiment, self.settings.mlflow_experiment_name
                )
                self.experiment_id = experiment.experiment_id
            except Exception as exc:  # any store failure leaves the app serving, untraced
                log.warning("could not set the MLflow experiment: %s", type(exc).__name__)
                self.problem = "tracking store refused the experiment"
                return False
        self.problem = None
        return True

    def trace_url(self, trace_id: str | None) -> str | None:
        base = self.settings.ui_url
        if not (trace_id and base and self.experiment_id):
            return None
        return f"{base}/#/experiments/{self.experiment_id}/traces?selectedEvaluationId={trace_id}"


async def keep_checking(checks: list[Callable[[], Awaitable[bool]]], every_s: float = 5.0) -> None:
    """Runs the checks forever: often while any fails, so recovery shows quickly; rarely after."""
    while True:
        results = [await check() for check in checks]
        await asyncio.sleep(every_s if not all(results) else every_s * 6)


async def server_answers(uri: str) -> bool:
    """True for a local store (sqlite, file), or an MLflow server whose /health answers."""
    if not uri.startswith(("http://", "https://")):
        return True
    try:
        async with httpx.AsyncClient(timeout=1.0) as client:
            answer = await client.get(f"{uri.rstrip('/')}/health")
        return answer.status_code == 200
    except httpx.HTTPError:
        return False


def public_uri(uri: str) -> str:
    """The URI without credentials."""
    return re.sub(r"//[^/@]*@", "//", uri)
