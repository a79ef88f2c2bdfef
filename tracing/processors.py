"""Span processors: what every span goes through before it leaves the process."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from mlflow.entities import LiveSpan, SpanStatus, SpanType

from agent import citations
from api.security import keys
from tracing import internals

# Shorter values are never masked: replacing every "x" of a one-letter key would garble every
# span, and a key that short protects nothing (local servers take any key).

MIN_SECRET_CHARS = 8

TOKEN_EVENT = "new_token"  # what mlflow.langchain's tracer names a streamed chunk


def masker(secrets: list[str]) -> Callable[[str], str]:
    """Blanks the secrets in a text, and anything shaped like a key (`api.security.keys`): for spans
    here, and for log lines (`service.logs`)."""
    secrets = [secret for secret in secrets if len(secret) >= MIN_SECRET_CHARS]

    def mask(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "[REDACTED]")
        return keys.SECRET_SHAPES.sub("[REDACTED]", text)

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


# State fields whose text lives elsewhere in the trace: conversations on the chat and tool
# spans, passages on the tool spans that returned them. The draft and the article are kept
# where a node wrote them and summarised where the whole state is repeated.
CONVERSATIONS = ("research_messages", "review_messages")
ELSEWHERE = "the text is on the ChatOpenAI and tool spans"


def _message_kind(message: dict[str, Any]) -> str:
    kind = str(message.get("type", "message"))
    if kind == "tool":
        return f"result of {message.get('name') or 'a tool'}"
    if calls := message.get("tool_calls"):
        return "ai call " + ", ".join(str(c.get("name")) for c in calls)
    return kind


def summarise_messages(messages: list[Any]) -> str:
    kinds = Counter(_message_kind(m) if isinstance(m, dict) else "message" for m in messages)
    listed = "; ".join(f"{kind} x{n}" if n > 1 else kind for kind, n in kinds.items())
    return f"{len(messages)} messages ({listed}); {ELSEWHERE}" if messages else "no messages"


def summarise_sources(sources: list[Any]) -> list[Any]:
    """Each source by number, id and title, with the sections of the passages it holds."""
    return [
        {
            "n": n,
            "id": s.get("id"),
            "title": s.get("title"),
            "passages": [p.get("section") for p in s.get("passages") or []],
        }
        if isinstance(s, dict)
        else s
        for n, s in enumerate(sources, 1)
    ]


def summarise_state(value: Any, *, whole: bool) -> Any:
    """A state or an update with heavy fields summarised; `whole` (the entire state, not one
    node's update) also summarises the draft and the article, which their nodes' outputs hold."""
    if not isinstance(value, dict):
        return value
    light = dict(value)
    for key in CONVERSATIONS:
        if isinstance(light.get(key), list):
            light[key] = summarise_messages(light[key])
    if isinstance(light.get("sources"), list):
        light["sources"] = summarise_sources(light["sources"])
    if whole and isinstance(draft := light.get("draft"), str):
        words = citations.count_words(draft)
        light["draft"] = f"{words} words; the text is on the draft or revise span's output"
    if whole and isinstance(article := light.get("article"), dict):
        light["article"] = (
            f"{article.get('title')} ({article.get('word_count')} words); the text is on the "
            "finalize span's output"
        )
    return light


STATE_KEYS = frozenset({*CONVERSATIONS, "sources", "draft", "article"})


def lighten_state_spans(span: LiveSpan) -> None:
    """A span processor that keeps each text in the one span a reader expects it in.

    Autolog gives each LangGraph node (and the graph) a span whose inputs are the whole state:
    the research conversation with every document the tools returned, the sources, the draft.
    Stored again on every node, that was most of a trace. Here a node's inputs keep the small
    fields and summarise the heavy ones; its outputs (the state change it made) keep the draft
    or article it wrote, with conversations and sources summarised.
    """
    if span.span_type != SpanType.CHAIN:
        return
    inputs, outputs = internals.raw_inputs_outputs(span)
    if isinstance(inputs, str) and any(f'"{key}"' in inputs for key in STATE_KEYS):
        span.set_inputs(summarise_state(json.loads(inputs), whole=True))
    if isinstance(outputs, str) and any(f'"{key}"' in outputs for key in STATE_KEYS):
        decoded = json.loads(outputs)
        whole = isinstance(decoded, dict) and "topic" in decoded  # the graph's final state
        span.set_outputs(summarise_state(decoded, whole=whole))


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
