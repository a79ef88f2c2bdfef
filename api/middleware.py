"""ASGI middleware: a request id on every exchange, a line in the log for each, and a cap on
request body size.

The request id is asgi-correlation-id's `CorrelationIdMiddleware`, which api/main.py adds with
the rules below: it keeps a client's `X-Request-Id` when `well_formed`, makes one otherwise,
echoes it on the response, and sets it in a context variable that `current_request_id()` reads.
It, `AccessLog` and `BodyLimit` are plain ASGI (not BaseHTTPMiddleware), so none buffers a
streamed response.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from asgi_correlation_id import correlation_id
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.request import ID_PATTERN

HEADER = "X-Request-Id"
access = logging.getLogger("api.access")
REQUEST_ID = re.compile(ID_PATTERN)


def well_formed(given: str) -> bool:
    """Whether a client's id can be kept: it lands in logs and on the trace as it is."""
    return REQUEST_ID.match(given) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being answered (None outside one): the middleware sets it in a
    context variable before anything inside it runs, and code outside it (the 500 handler)
    still sees it, as it runs in the same task after the request."""
    return correlation_id.get()


class HttpMiddleware:
    """Plain ASGI middleware that sees HTTP exchanges only: lifespan and websocket messages
    pass through untouched. Subclasses say what they do with an exchange in `exchange`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.exchange(scope, receive, send)

    async def exchange(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class AccessLog(HttpMiddleware):
    """One log line per exchange, once it has ended: method, path (never the query, which can
    hold a user's text), status, duration, the client, and the trace id the answer named.

    Inside the request id's middleware, so the line has that id; `service.logs` turns uvicorn's
    own access log off for this one.
    """

    async def exchange(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status: int | None = None
        trace_id: str | None = None

        async def sending(message: Message) -> None:
            nonlocal status, trace_id
            if message["type"] == "http.response.start":
                status = message["status"]
                named = dict(message.get("headers", [])).get(b"x-trace-id")
                trace_id = named.decode() if named else None
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            took = round((time.perf_counter() - started) * 1000)
            client = scope.get("client")
            access.info(
                "%s %s %s %d ms",
                scope["method"],
                scope["path"],
                status if status is not None else "-",  # none: the client left first
                took,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": took,
                    "client": client[0] if client else None,
                    "trace_id": trace_id,
                },
            )


# On every answer that does not set its own.
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
}
# And on every answer but HTML: JSON and streams are never a document to run script in. The web
# page sets its own policy (api/routes/page.py); /docs loads Swagger UI's scripts, which this
# one would block.
NOT_A_DOCUMENT = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class SecurityHeaders(HttpMiddleware):
    """Adds SECURITY_HEADERS (and NOT_A_DOCUMENT) to every answer that does not set its own."""

    async def exchange(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower(): value for name, value in headers}
                added = dict(SECURITY_HEADERS)
                if not present.get(b"content-type", b"").startswith(b"text/html"):
                    added.update([NOT_A_DOCUMENT])
                headers += [(k, v) for k, v in added.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


class BodyLimit(HttpMiddleware):
    """Answers 413 to a body over `max_bytes`, declared or streamed, before the app reads it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def exchange(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(scope, send)
            return
        # Read the body now (it is small by definition) and replay it to the app.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, send: Send) -> None:
        payload = {
            "error": "body_too_large",
            "message": f"The request body is larger than {self.max_bytes} bytes.",
            "request_id": current_request_id(),
        }
        body = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
