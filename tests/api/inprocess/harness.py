"""What the in-process tests share: an app with its lifespan entered, and clients for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from cli.settings import Settings
from offline_model.transport import StreamingASGITransport

BASE_URL = "http://api.test"
STREAM = {"Accept": "text/event-stream"}


@dataclass
class Served:
    """An app with its lifespan entered, and a client that talks to it in process."""

    app: FastAPI
    settings: Settings
    client: httpx.AsyncClient

    def streaming_client(self) -> httpx.AsyncClient:
        """A client whose responses arrive as the app sends them.

        httpx's ASGITransport returns only once the app has finished its response, so a stream
        read through it is already over; this one keeps it open while the test does more.
        """
        return httpx.AsyncClient(transport=StreamingASGITransport(self.app), base_url=BASE_URL)


# The `serve` fixture: starts an app with the given setting overrides.
Serve = Callable[..., Awaitable[Served]]
