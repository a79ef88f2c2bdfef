"""One article, start to finish, as one MLflow trace.

`ArticleWriter.write` opens the request's root span (AGENT), puts who asked and which model
answered on the trace, runs the graph inside it, and returns the article with its trace id,
token usage and cost. The API and the CLI both call it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

import mlflow
from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.runnables import RunnableConfig
from mlflow.entities import SpanType
from mlflow.entities.span import NoOpSpan

from agent import events, tracing, usage
from agent.context import Bounds, Limits, WriterContext
from agent.events import Event, EventHook
from agent.failures import Unwritable, WriteFailed, classify
from agent.graph import build_graph
from agent.grounding import no_sources_message
from agent.llm import chat_model, context_window
from agent.prompts import PromptCatalog, PromptSet
from agent.request import ReviseRequest, WriteRequest, new_session_id
from agent.sessions import Persistence, SessionBusy, SessionRecord, Sessions, UnknownSession
from agent.sessions.persistence import memory
from agent.sessions.records import TurnInProgress
from agent.settings import Settings
from agent.sources import SourceLibrary
from agent.state import Article, ArticleInput, FollowUp
from agent.tracing import trace_info
from agent.usage import Usage
from agent.versions import APP_VERSION, AgentVersion

log = logging.getLogger(__name__)
RECURSION_LIMIT = 80  # far above the bounded rounds; a guard, never the thing that stops a run


@dataclass(frozen=True)
class WriteResult:
    article: Article
    trace_id: str | None
    usage: Usage
    cost_usd: float | None
    model: str
    duration_ms: int
    prompts: list[dict[str, Any]]
    session_id: str
    turn: int


@dataclass(frozen=True)
class SessionView:
    record: SessionRecord
    article: Article | None


class ArticleWriter:
    """`persistence` is where sessions last (the API opens CHECKPOINT_URL's); without it they
    last as long as this object, which is all a one-off run or an evaluation needs."""

    def __init__(self, settings: Settings, persistence: Persistence | None = None) -> None:
        self.settings = settings
        self.persistence = persistence or memory()
        self.sessions = Sessions(self.persistence.store)
        library = SourceLibrary(settings.sources_dir)
        self.prompts = PromptCatalog(settings)
        self.context = WriterContext(
            llm=chat_model(settings),
            prompts=PromptSet.bundled(self.prompts.book),
            library=library,
            limits=Limits.from_settings(settings),
            bounds=Bounds.from_settings(settings),
        )
        self._window_asked = settings.llm_context_tokens is not None
        self.graph = build_graph(settings.step_timeout_seconds, self.persistence.checkpointer)
        self.version = AgentVersion(settings, self.graph)
        self._slots = asyncio.Semaphore(settings.max_concurrent_writes)

    async def write(
        self, request: WriteRequest, on_event: EventHook | None = None, tokens: bool = False
    ) -> WriteResult:
        """Writes one article; raises WriteFailed with a code the caller can map to a status.

        `on_event` hears the run's progress (`agent.events`), `trace` first; `tokens` adds the
        article's text as the writing nodes produce it (the model then streams).
        """
        request = replace(request, session_id=request.session_id or new_session_id())
        given = ArticleInput(
            topic=request.topic,
            audience=request.audience,
            tone=request.tone,
            target_words=request.target_words,
        )
        return await self._turn(request, "write", request.topic, given, on_event, tokens)

    async def revise(
        self, request: ReviseRequest, on_event: EventHook | None = None, tokens: bool = False
    ) -> WriteResult:
        """A later turn of the session: its article changed as `request.instruction` asks
        (`agent.amendments`), in a trace of its own; the same events and failures as `write`,
        and `unrevisable` for a change it cannot make."""
        follow_up = FollowUp(instruction=request.instruction, target_words=request.target_words)
        # Only the follow-up: the article's fields are the session's, in its checkpoint.
        given = cast(ArticleInput, {"follow_up": follow_up})
        return await self._turn(request, "revise", request.instruction, given, on_event, tokens)

    async def _turn(
        self,
        request: WriteRequest | ReviseRequest,
        kind: str,
        instruction: str,
        given: ArticleInput,
        on_event: EventHook | None,
        tokens: bool,
    ) -> WriteResult:
        """One turn of a session, claimed while it runs and recorded when it ends."""
        if self._slots.locked():
            raise WriteFailed("busy", None)
        if not self._window_asked:  # once: what the provider says of its context window
            self._window_asked = True
            if window := await context_window(self.context.llm):
                limits = replace(self.context.limits, context_tokens=window)
                self.context = replace(self.context, limits=limits)
            log.info("model context window: %s tokens", window or "unknown")
        assert request.session_id
        try:
            async with (
                self.sessions.turn(request.session_id, request.user_id, kind, instruction) as turn,
                self._slots,
            ):
                thread: dict[str, str] = {"thread_id": turn.session_id}
                if kind == "write" and turn.n > 1:  # a new article replaces the one it had
                    await self.persistence.checkpointer.adelete_thread(turn.session_id)
                elif kind != "write":  # from the article, whatever a failed turn left after it
                    if (current := turn.record.current) is None:
                        raise WriteFailed("no_article", None)
                    thread["checkpoint_id"] = current
                return await self._write(request, given, thread, on_event or _ignore, tokens, turn)
        except UnknownSession:
            raise WriteFailed("unknown_session", None) from None
        except SessionBusy:
            raise WriteFailed("session_busy", None) from None

    async def _write(
        self,
        request: WriteRequest | ReviseRequest,
        given: ArticleInput,
        thread: dict[str, str],
        emit: EventHook,
        tokens: bool,
        turn: TurnInProgress,
    ) -> WriteResult:
        counter = UsageMetadataCallbackHandler()
        started = time.perf_counter()
        with mlflow.start_span("write_article", span_type=SpanType.AGENT) as root:
            trace_id = turn.trace_id = None if isinstance(root, NoOpSpan) else root.trace_id
            emit(
                Event(
                    "trace",
                    {
                        "trace_id": trace_id,
                        "request_id": request.request_id,
                        "session_id": turn.session_id,
                        "turn": turn.n,
                    },
                )
            )
            root.set_inputs(trace_info.root_inputs(request))
            # Loaded inside the trace, so MLflow links each prompt version to it.
            prompts = await asyncio.to_thread(self.prompts.resolve, request.prompt_alias)
            self.version.note_prompts(prompts.summary())
            if trace_id:
                trace_info.describe(
                    request,
                    model_id=self.version.model_id,
                    metadata={
                        "app.version": APP_VERSION,
                        "llm.provider": self.settings.provider,
                        "llm.model": self.settings.model_name,
                        "llm.context_tokens": str(self.context.limits.context_tokens or "unknown"),
                        "session.turn": str(turn.n),
                        "session.turn_kind": turn.kind,
                    },
                    prompt_source=prompts.source,
                    prompt_alias=prompts.alias,
                )
            context = replace(self.context, prompts=prompts)
            try:
                async with asyncio.timeout(self.settings.request_timeout_seconds):
                    # Its own task: spans the graph leaves active never leak into the caller's
                    # context.
                    final = await asyncio.create_task(
                        self._run(given, thread, context, counter, emit, tokens)
                    )
            except asyncio.CancelledError:
                # The caller went away (a client hung up): the graph task is cancelled with us,
                # so no further model call starts; the trace says what happened.
                root.set_attributes({"cancelled": True})
                trace_info.record_outcome(root, request, "cancelled")
                root.set_status("ERROR")
                if trace_id:
                    tracing.end_open_spans(root, "cancelled")
                raise
            except Exception as exc:
                code = classify(exc)
                log.warning("article failed (%s, trace %s): %r", code, trace_id, exc)
                trace_info.record_outcome(root, request, code)
                if trace_id:
                    tracing.end_open_spans(root, code)
                await turn.done(error=code)
                # Only the app's own words reach the client: a provider's error text stays in
                # the log and the trace.
                if isinstance(exc, Unwritable):
                    raise WriteFailed(code, trace_id, exc.message, exc.details) from None
                raise WriteFailed(code, trace_id) from None
            if "article" not in final:  # the coverage gate ended the run: nothing to stand on
                assert isinstance(request, WriteRequest), "a follow-up starts from an article"
                coverage = final["coverage"]
                trace_info.record_outcome(root, request, "no_sources")
                root.set_status("ERROR")
                await turn.done(error="no_sources")
                raise WriteFailed(
                    "no_sources",
                    trace_id,
                    no_sources_message(request.topic, coverage),
                    {"closest_sources": [s.model_dump() for s in coverage.closest]},
                )
            article: Article = final["article"]
            said = trace_info.response_preview(article.title, article.word_count)
            trace_info.record_outcome(root, request, "article", said)
            totals = usage.total(counter)
            cost = usage.cost_usd(self.settings, totals)
            root.set_outputs(
                trace_info.root_outputs(article.title, article.word_count, len(article.references))
            )
            root.set_attributes({"article.words": article.word_count, "cost_usd": cost})
            saved = await self.graph.aget_state({"configurable": {"thread_id": turn.session_id}})
            await turn.done(
                title=article.title,
                words=article.word_count,
                checkpoint_id=saved.config["configurable"]["checkpoint_id"],
            )
        return WriteResult(
            article=article,
            trace_id=trace_id,
            usage=totals,
            cost_usd=cost,
            model=self.settings.model_name,
            duration_ms=round((time.perf_counter() - started) * 1000),
            prompts=prompts.summary(),
            session_id=turn.session_id,
            turn=turn.n,
        )

    async def session(self, session_id: str, user_id: str | None) -> SessionView:
        """The session's record and its current article; UnknownSession if not this user's."""
        record = await self.sessions.get(session_id, user_id)
        if record.current is None:
            return SessionView(record, None)
        config: RunnableConfig = {
            "configurable": {"thread_id": session_id, "checkpoint_id": record.current}
        }
        state = await self.graph.aget_state(config)
        return SessionView(record, state.values.get("article"))

    async def forget(self, session_id: str, user_id: str | None) -> None:
        """Deletes the session's record and checkpoints; UnknownSession if not this user's."""
        await self.sessions.get(session_id, user_id)
        await self.persistence.checkpointer.adelete_thread(session_id)
        await self.sessions.delete(session_id)

    def _run(
        self,
        given: ArticleInput,
        thread: dict[str, str],
        context: WriterContext,
        counter: UsageMetadataCallbackHandler,
        emit: EventHook,
        tokens: bool,
    ) -> Coroutine[Any, Any, dict[str, Any]]:
        """The graph's run from `given` on the session's `thread` (and, for a follow-up, the
        checkpoint it starts from), reported as events; it returns the final state."""
        config: RunnableConfig = {
            "callbacks": [counter],
            "recursion_limit": RECURSION_LIMIT,
            "configurable": thread,
        }
        parts = self.graph.astream(
            given,
            config,
            context=context,
            stream_mode=events.stream_modes(tokens),
            # The state is saved once, when the run ends: a session needs the turn's outcome,
            # not every step of it. Saving after each step (LangGraph's default) stored 580 KiB
            # an article instead of 41 and cost 1.5x the run's time (docs/sessions.md).
            durability="exit",
        )
        return events.relay(parts, emit, lambda: asdict(usage.total(counter)))


def _ignore(event: Event) -> None:
    pass
