"""Span processors: what every span goes through before it leaves the process."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from mlflow.entities import LiveSpan, SpanStatus, SpanType

from tracing import internals

# Shorter values are never masked: replacing every "x" of a one-letter key would garble every
# span, and a key that short protects nothing (local servers take any key).

MIN_SECRET_CHARS = 8

# What a key looks like, this app's API keys (`awk_`, api/security/keys.py) or an OpenAI-style
# provider's, wherever a user pastes one: the span masker and the log filter blank these without
# knowing the keys.
API_KEY_PREFIX = "awk_"
API_KEY_PATTERN = re.compile(rf"{API_KEY_PREFIX}[A-Za-z0-9_\-]{{20,}}")
SECRET_SHAPES = re.compile(rf"sk-[A-Za-z0-9_\-]{{16,}}|{API_KEY_PATTERN.pattern}")

TOKEN_EVENT = "new_token"  # what mlflow.langchain's tracer names a streamed chunk


def masker(secrets: list[str]) -> Callable[[str], str]:
    """Blanks the secrets in a text, and anything shaped like a key (`SECRET_SHAPES`): for spans
    here, and for log lines (`service.logs`)."""
    secrets = [secret for secret in secrets if len(secret) >= MIN_SECRET_CHARS]

    def mask(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "[REDACTED]")
        return SECRET_SHAPES.sub("[REDACTED]", text)

    return mask


def redactor(secrets: list[str]) -> Callable[[LiveSpan], None]:
    """A span processor that masks secrets before a span leaves the process."""
    mask = masker(secrets)

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


def _repeats(artifact: Any, content: Any) -> bool:
    """Does every text of a tool's artifact already stand in its content?"""
    if not (isinstance(artifact, list) and artifact and isinstance(content, str)):
        return False
    # A web search's artifact also lists the providers it could not reach: those hold no text.
    texts = [
        item.get("text") if isinstance(item, dict) else None
        for item in artifact
        if not (isinstance(item, dict) and "unreachable" in item)
    ]
    return bool(texts) and all(
        isinstance(t, str) and (t in content or json.dumps(t, ensure_ascii=False)[1:-1] in content)
        for t in texts
    )


def fold_tool_artifacts(span: LiveSpan) -> None:
    """A span processor that stores a tool's result once.

    A `content_and_artifact` tool returns the text for the model and the same passages as
    data for the graph; the tool span's output held both. Where every passage of the artifact
    stands in the content, the artifact keeps each passage's fields but its text.
    """
    if span.span_type != SpanType.TOOL:
        return
    _, outputs = internals.raw_inputs_outputs(span)
    if not (isinstance(outputs, str) and '"artifact"' in outputs):
        return
    decoded = json.loads(outputs)
    if isinstance(decoded, dict) and _repeats(decoded.get("artifact"), decoded.get("content")):
        decoded["artifact"] = [
            {key: value for key, value in item.items() if key != "text"}
            for item in decoded["artifact"]
        ]
        span.set_outputs(decoded)
