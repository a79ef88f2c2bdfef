"""Span processors: what every span goes through before it leaves the process."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from mlflow.entities import LiveSpan, SpanStatus

from agent import internals

SECRET_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{16,}")
# Shorter values are never masked: replacing every "x" of a one-letter key would garble every
# span, and a key that short protects nothing (local servers take any key).

MIN_SECRET_CHARS = 8

TOKEN_EVENT = "new_token"  # what mlflow.langchain's tracer names a streamed chunk


def redactor(secrets: list[str]) -> Callable[[LiveSpan], None]:
    """A span processor that masks secrets before a span leaves the process."""
    secrets = [secret for secret in secrets if len(secret) >= MIN_SECRET_CHARS]

    def mask(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "[REDACTED]")
        return SECRET_PATTERN.sub("[REDACTED]", text)

    def process(span: LiveSpan) -> None:
        # MLflow holds every attribute as a JSON string. Searching those strings in place costs
        # far less than decoding each value (whole conversations) of every span to look.
        for key, raw in internals.raw_attributes(span).items():
            if isinstance(raw, str) and (masked := mask(raw)) != raw:
                span.set_attribute(key, json.loads(masked))

    return process


SENTINEL_TEXT = re.compile(r"^<object object at 0x[0-9a-f]+>$")

CANCELLED = "Cancelled: a time bound ran out, or the client went away, before it finished."


def describe_cancellation(span: LiveSpan) -> None:
    """A span processor that says in words why a cancelled span ended.

    LangGraph cancels a node that overruns its step bound with a bare `object()` as the
    cancellation's message, and LangChain's tracer writes that message as the status
    description: `<object object at 0x...>`.
    """
    status = span.status
    if SENTINEL_TEXT.match(status.description or ""):
        span.set_status(SpanStatus(status.status_code, description=CANCELLED))  # type: ignore[arg-type]


def drop_token_events(span: LiveSpan) -> None:
    """A span processor that removes autolog's per-token events from chat spans.

    Autolog adds one `new_token` event per streamed chunk; OpenTelemetry keeps only the first
    128 of them, and the span's outputs hold the whole text anyway. MLflow has no public call
    to remove events (`internals.drop_events`).
    """
    internals.drop_events(span, TOKEN_EVENT)
