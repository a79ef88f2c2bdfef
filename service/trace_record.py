"""The trace record of one turn: its root span (AGENT), what the trace says about the request as a
whole (who asked, with which model and prompts), and how the turn ended, in the fields MLflow's
trace list shows and searches. `service.turn` runs the turn inside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import mlflow
from mlflow.entities import LiveSpan, SpanType
from mlflow.entities.span import NoOpSpan

import tracing
from agent.state import Article, Outline
from service.request import DEFAULTS, OutlineRequest, ReviseRequest, WriteRequest
from tracing import distributed
from tracing.processors import masker

Asked = WriteRequest | ReviseRequest | OutlineRequest
MASK = masker([])  # key shapes: a key pasted into a topic or an instruction


class TraceRecord:
    """One turn's trace, as its root span records it. `trace_id` is None when the turn is not
    traced (tracing off, or not sampled): then every record is a no-op on MLflow's side."""

    def __init__(self, root: LiveSpan, request: Asked) -> None:
        self.root = root
        self.request = request
        self.trace_id = None if isinstance(root, NoOpSpan) else root.trace_id
        root.set_inputs(root_inputs(request))

    def describe(
        self,
        *,
        model_id: str | None,
        metadata: dict[str, str],
        prompt_source: str,
        prompt_alias: str | None,
    ) -> None:
        if self.trace_id:
            describe(
                self.request,
                model_id=model_id,
                metadata=metadata,
                prompt_source=prompt_source,
                prompt_alias=prompt_alias,
            )

    def cancelled(self) -> None:
        """The caller went away, or a bound ran out: the trace says so."""
        self.root.set_attributes({"cancelled": True})
        record_outcome(self.root, self.request, "cancelled")
        self.root.set_status("ERROR")
        if self.trace_id:
            tracing.end_open_spans(self.root, "cancelled")

    def failed(self, code: str) -> None:
        record_outcome(self.root, self.request, code)
        if self.trace_id:
            tracing.end_open_spans(self.root, code)

    def paused(self, outline: Outline) -> None:
        """Paused after the plan for a person to approve: the root span ends OK."""
        said = f"awaiting approval: {outline.title}"
        record_outcome(self.root, self.request, "awaiting_outline", said)
        self.root.set_outputs({"awaiting": "outline", "outline": outline.model_dump()})

    def no_sources(self) -> None:
        record_outcome(self.root, self.request, "no_sources")
        self.root.set_status("ERROR")

    def article(self, article: Article) -> None:
        said = response_preview(article.title, article.word_count)
        record_outcome(self.root, self.request, "article", said)
        outputs = root_outputs(article.title, article.word_count, len(article.references))
        self.root.set_outputs(outputs)
        self.root.set_attribute("article.words", article.word_count)

    def cost(self, cost_usd: float | None) -> None:
        self.root.set_attributes({"cost_usd": cost_usd})


@contextmanager
def opened(request: Asked) -> Iterator[TraceRecord]:
    """The turn's root span, under the caller's trace if it sent one (W3C `traceparent`)."""
    with (
        distributed.continuing(request.trace_context),
        mlflow.start_span("write_article", span_type=SpanType.AGENT) as root,
    ):
        yield TraceRecord(root, request)


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
