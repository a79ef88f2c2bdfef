"""What the trace says about the request as a whole: who asked, with which model and prompts,
and how it ended, in the fields MLflow's trace list shows and searches."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import mlflow
from mlflow.entities.span import NoOpSpan

from service.request import DEFAULTS, OutlineRequest, ReviseRequest, WriteRequest
from tracing.processors import masker

Asked = WriteRequest | ReviseRequest | OutlineRequest
MASK = masker([])  # key shapes: a key pasted into a topic or an instruction


def root_inputs(request: Asked) -> dict[str, Any]:
    """The root span's inputs: the request, led by the Request column's words as a user turn.

    The tracking server also derives a trace's previews from its root span (the last user and
    assistant message, where there are messages) as it stores the spans, and that store races
    the app's own preview: two export calls for one trace may land in either order. Shaped as
    a chat turn, the derived preview is the app's, whichever wins.
    """
    fields = asdict(request)
    del fields["trace_context"]  # the root span's parent says it
    return {"messages": [{"role": "user", "content": request_preview(request)}], **fields}


def root_outputs(title: str, words: int, references: int) -> dict[str, Any]:
    """The root span's outputs: the article's summary, led by the Response column's words."""
    return {
        "messages": [{"role": "assistant", "content": response_preview(title, words)}],
        "title": title,
        "word_count": words,
        "references": references,
    }


def response_preview(title: str, words: int) -> str:
    return f"{title} ({words} words)"


def describe(
    request: Asked,
    *,
    model_id: str | None,
    metadata: dict[str, str],
    prompt_source: str,
    prompt_alias: str | None,
) -> None:
    """The current trace's request-level fields, set as the run starts."""
    mlflow.update_current_trace(
        # Which agent version wrote it: the MLflow UI's "Agent versions" page.
        model_id=model_id,
        client_request_id=request.request_id,
        user=request.user_id,
        session_id=request.session_id,
        metadata=metadata,
        tags={"prompt.source": prompt_source, "prompt.alias": prompt_alias or "-"},
    )


def record_outcome(root: Any, request: Asked, outcome: str, preview: str | None = None) -> None:
    """How the run ended, searchable (`tags.outcome = 'no_sources'`), and the trace list's
    two columns: the request, and the article's title and length or the error code.

    Both previews are set here, as the root span ends, with the last word on the trace's
    info: once, a trace set early kept MLflow's JSON of the root's inputs instead.
    """
    root.set_attribute("outcome", outcome)
    if outcome != "article":
        root.set_attribute("error.code", outcome)
    if not isinstance(root, NoOpSpan):
        # Trace info is no span: the span masker never sees these, so they are masked here.
        mlflow.update_current_trace(
            tags={"outcome": outcome},
            request_preview=MASK(request_preview(request)),
            response_preview=MASK(preview or f"error: {outcome}"),
        )


def request_preview(request: Asked) -> str:
    """The trace list's Request column: the topic, and the audience and length when asked; a
    follow-up's instruction, so the Sessions view reads as the conversation."""
    if isinstance(request, ReviseRequest):
        named = f" ({request.target_words} words)" if request.target_words else ""
        return request.instruction + named
    if isinstance(request, OutlineRequest):
        return "outline approved, edited" if request.outline else "outline approved"
    asked = [
        f"for {request.audience}" if request.audience != DEFAULTS.audience else "",
        f"{request.target_words} words" if request.target_words != DEFAULTS.target_words else "",
    ]
    details = ", ".join(part for part in asked if part)
    return f"{request.topic} ({details})" if details else request.topic
