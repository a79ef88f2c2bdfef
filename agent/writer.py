"""One article, start to finish, as one MLflow trace.

`ArticleWriter.write` opens the request's root span (AGENT), puts who asked and which model
answered on the trace, runs the graph inside it, and returns the article with its trace id,
token usage and cost. The API and the CLI both call it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

import mlflow
from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.runnables import RunnableConfig
from langgraph.types import StreamMode
from mlflow.entities import SpanType
from mlflow.entities.span import NoOpSpan

from agent import events, internals, tracing
from agent.context import Bounds, Limits, WriterContext
from agent.events import Event, EventHook
from agent.failures import Unwritable, WriteFailed, classify
from agent.graph import build_graph
from agent.grounding import no_sources_message
from agent.llm import chat_model, context_window
from agent.prompt_registry import PromptCatalog
from agent.prompts import PromptSet
from agent.request import DEFAULTS, WriteRequest
from agent.settings import Settings
from agent.sources import SourceLibrary
from agent.state import Article, ArticleState
from agent.versions import APP_VERSION, AgentVersion

log = logging.getLogger(__name__)
RECURSION_LIMIT = 80  # far above the bounded rounds; a guard, never the thing that stops a run


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class WriteResult:
    article: Article
    trace_id: str | None
    usage: Usage
    cost_usd: float | None
    model: str
    duration_ms: int
    prompts: list[dict[str, Any]]


class ArticleWriter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        library = SourceLibrary(settings.sources_dir)
        self.prompts = PromptCatalog(settings)
        self.context = WriterContext(
            llm=chat_model(settings),
            prompts=self.prompts.book.bundled(),
            library=library,
            limits=Limits.from_settings(settings),
            bounds=Bounds.from_settings(settings),
        )
        self._window_asked = settings.llm_context_tokens is not None
        self.graph = build_graph(settings.step_timeout_seconds)
        self.version = AgentVersion(settings, self.graph)
        self._slots = asyncio.Semaphore(settings.max_concurrent_writes)

    async def write(
        self, request: WriteRequest, on_event: EventHook | None = None, tokens: bool = False
    ) -> WriteResult:
        """Writes one article; raises WriteFailed with a code the caller can map to a status.

        `on_event` hears the run's progress (`agent.events`), `trace` first; `tokens` adds the
        article's text as the writing nodes produce it (the model then streams).
        """
        if self._slots.locked():
            raise WriteFailed("busy", None)
        if not self._window_asked:  # once: what the provider says of its context window
            self._window_asked = True
            if window := await context_window(self.context.llm):
                limits = replace(self.context.limits, context_tokens=window)
                self.context = replace(self.context, limits=limits)
            log.info("model context window: %s tokens", window or "unknown")
        async with self._slots:
            return await self._write(request, on_event or _ignore, tokens)

    async def _write(self, request: WriteRequest, emit: EventHook, tokens: bool) -> WriteResult:
        usage = UsageMetadataCallbackHandler()
        started = time.perf_counter()
        with mlflow.start_span("write_article", span_type=SpanType.AGENT) as root:
            trace_id = None if isinstance(root, NoOpSpan) else root.trace_id
            emit(Event("trace", {"trace_id": trace_id, "request_id": request.request_id}))
            root.set_inputs(asdict(request))
            # Loaded inside the trace, so MLflow links each prompt version to it.
            prompts = await asyncio.to_thread(self.prompts.resolve, request.prompt_alias)
            self.version.note_prompts(prompts.summary())
            if trace_id:
                self._describe_trace(request, prompts)
            context = replace(self.context, prompts=prompts)
            try:
                async with asyncio.timeout(self.settings.request_timeout_seconds):
                    # Its own task: spans the graph leaves active never leak into the caller's
                    # context.
                    final = await asyncio.create_task(
                        self._run(request, context, usage, emit, tokens)
                    )
            except asyncio.CancelledError:
                # The caller went away (a client hung up): the graph task is cancelled with us,
                # so no further model call starts; the trace says what happened.
                root.set_attributes({"cancelled": True})
                self._outcome(root, request, "cancelled")
                root.set_status("ERROR")
                if trace_id:
                    tracing.end_open_spans(root, "cancelled")
                raise
            except Exception as exc:
                code = classify(exc)
                log.warning("article failed (%s, trace %s): %r", code, trace_id, exc)
                self._outcome(root, request, code)
                if trace_id:
                    tracing.end_open_spans(root, code)
                # Only the app's own words reach the client: a provider's error text stays in
                # the log and the trace.
                if isinstance(exc, Unwritable):
                    raise WriteFailed(code, trace_id, exc.message, exc.details) from None
                raise WriteFailed(code, trace_id) from None
            if "article" not in final:  # the coverage gate ended the run: nothing to stand on
                coverage = final["coverage"]
                self._outcome(root, request, "no_sources")
                root.set_status("ERROR")
                raise WriteFailed(
                    "no_sources",
                    trace_id,
                    no_sources_message(request.topic, coverage),
                    {"closest_sources": [s.model_dump() for s in coverage.closest]},
                )
            article: Article = final["article"]
            self._outcome(root, request, "article", f"{article.title} ({article.word_count} words)")
            totals = _sum_usage(usage)
            cost = self._cost(totals)
            root.set_outputs(
                {
                    "title": article.title,
                    "word_count": article.word_count,
                    "references": len(article.references),
                }
            )
            root.set_attributes({"article.words": article.word_count, "cost_usd": cost})
        return WriteResult(
            article=article,
            trace_id=trace_id,
            usage=totals,
            cost_usd=cost,
            model=self.settings.model_name,
            duration_ms=round((time.perf_counter() - started) * 1000),
            prompts=prompts.summary(),
        )

    async def _run(
        self,
        request: WriteRequest,
        context: WriterContext,
        usage: UsageMetadataCallbackHandler,
        emit: EventHook,
        tokens: bool,
    ) -> dict[str, Any]:
        state: dict[str, Any] = {
            "topic": request.topic,
            "audience": request.audience,
            "tone": request.tone,
            "target_words": request.target_words,
        }
        config: RunnableConfig = {"callbacks": [usage], "recursion_limit": RECURSION_LIMIT}
        modes: list[StreamMode] = ["tasks", "updates", "values"]
        if tokens:
            modes.append("messages")
        async for part in self.graph.astream(
            cast(ArticleState, state), config, context=context, stream_mode=modes
        ):
            mode, chunk = cast(tuple[str, Any], part)
            if mode == "values":
                state = chunk
            elif mode == "tasks" and "input" in chunk:  # a node starts
                for event in events.node_started(chunk["name"], state):
                    emit(event)
            elif mode == "updates":
                for node, update in chunk.items():
                    for event in events.node_finished(node, update or {}, state):
                        emit(event)
                    emit(Event("usage", asdict(_sum_usage(usage))))
            elif mode == "messages" and (said := events.token(*chunk)):
                emit(said)
        return state

    def _outcome(
        self, root: Any, request: WriteRequest, outcome: str, preview: str | None = None
    ) -> None:
        """How the run ended, searchable (`tags.outcome = 'no_sources'`), and the trace list's
        two columns: the request, and the article's title and length or the error code.

        Both previews are set here, as the root span ends, with the last word on the trace's
        info: once, a trace set early kept MLflow's JSON of the root's inputs instead.
        """
        root.set_attribute("outcome", outcome)
        if outcome != "article":
            root.set_attribute("error.code", outcome)
        if not isinstance(root, NoOpSpan):
            mlflow.update_current_trace(
                tags={"outcome": outcome},
                request_preview=request_preview(request),
                response_preview=preview or f"error: {outcome}",
            )

    def _describe_trace(self, request: WriteRequest, prompts: PromptSet) -> None:
        mlflow.update_current_trace(
            # Which agent version wrote it: the MLflow UI's "Agent versions" page.
            model_id=self.version.model_id,
            client_request_id=request.request_id,
            user=request.user_id,
            session_id=request.session_id,
            metadata={
                "app.version": APP_VERSION,
                "llm.provider": self.settings.provider,
                "llm.model": self.settings.model_name,
                "llm.context_tokens": str(self.context.limits.context_tokens or "unknown"),
            },
            tags={"prompt.source": prompts.source, "prompt.alias": prompts.alias or "-"},
        )

    def _cost(self, usage: Usage) -> float | None:
        """USD from MLflow's own price table; None where it has no price (the offline model).

        Through the gateway the model answers under the endpoint's name, which has no price:
        the gateway prices each call on its own traces, by the model that answered.
        """
        if self.settings.provider != "openai":
            return None
        cost = internals.price_usd(
            self.settings.model_name, usage.input_tokens, usage.output_tokens, "openai"
        )
        return round(cost, 6) if cost is not None else None


def request_preview(request: WriteRequest) -> str:
    """The trace list's Request column: the topic, and the audience and length when asked."""
    asked = [
        f"for {request.audience}" if request.audience != DEFAULTS.audience else "",
        f"{request.target_words} words" if request.target_words != DEFAULTS.target_words else "",
    ]
    details = ", ".join(part for part in asked if part)
    return f"{request.topic} ({details})" if details else request.topic


def _ignore(event: Event) -> None:
    pass


def _sum_usage(handler: UsageMetadataCallbackHandler) -> Usage:
    by_model = handler.usage_metadata.values()
    return Usage(
        input_tokens=sum(u.get("input_tokens", 0) for u in by_model),
        output_tokens=sum(u.get("output_tokens", 0) for u in by_model),
        total_tokens=sum(u.get("total_tokens", 0) for u in by_model),
    )
