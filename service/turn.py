"""One turn of a session, start to finish, as one MLflow trace.

`ArticleWriter.write` (and `revise`, `approve_outline`) claims the session, picks the checkpoint
the turn starts from, runs the graph inside the turn's trace record (`service.trace_record`),
and records how the turn ended on the session. It returns the article with its trace id, token
usage and cost, or the outline a person must approve first. The API, the CLI and the
evaluations all call it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, replace
from typing import Any, cast

from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.runnables import RunnableConfig

from agent.context import Bounds, Limits, WriterContext
from agent.failures import Unwritable
from agent.graph import build_graph
from agent.prompts import PromptCatalog, PromptSet
from agent.research.grounding import no_sources_message
from agent.research.sources import SourceLibrary
from agent.research.web import NAMES
from agent.state import Article, ArticleInput, FollowUp, Outline
from service import events, logs, usage
from service.events import Event, EventHook
from service.failures import WriteFailed, classify
from service.llm import chat_model, context_window
from service.request import OutlineRequest, ReviseRequest, WriteRequest, new_session_id
from service.sessions import Persistence, SessionBusy, SessionRecord, Sessions, UnknownSession
from service.sessions.persistence import memory
from service.sessions.records import TurnInProgress
from service.settings import ServiceSettings
from service.trace_record import Asked, TraceRecord, opened
from service.usage import Usage
from service.versions import APP_VERSION, AgentVersion
from tracing import metrics

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
class PausedOutline:
    """A write that paused after its plan for a person to approve: not a failure, but not an
    article either, so the caller answers it apart (202, or an `interrupt` event)."""

    outline: Outline
    trace_id: str | None
    session_id: str
    turn: int
    expires_at: str

    def body(self) -> dict[str, Any]:
        return {"status": "awaiting_outline", **asdict(self), "outline": self.outline.model_dump()}


# What a turn ends in, when it does not fail (`WriteFailed`).
TurnResult = WriteResult | PausedOutline


@dataclass(frozen=True)
class SessionView:
    record: SessionRecord
    article: Article | None


class ArticleWriter:
    """`persistence` is where sessions last (the API opens CHECKPOINT_URL's); without it they
    last as long as this object, which is all a one-off run or an evaluation needs."""

    def __init__(self, settings: ServiceSettings, persistence: Persistence | None = None) -> None:
        self.settings = settings
        self.persistence = persistence or memory()
        # A turn's claim on its session lasts as long as a turn may (and a minute more), so a
        # process that dies mid-turn frees the session soon after.
        lease = settings.request_timeout_seconds + 60
        self.sessions = Sessions(self.persistence.store, self.persistence.claims, lease)
        library = SourceLibrary.from_settings(settings)
        self.prompts = PromptCatalog(settings)
        self.context = WriterContext(
            llm=chat_model(settings),
            prompts=PromptSet.bundled(self.prompts.book),
            library=library,
            limits=Limits.from_settings(settings),
            bounds=Bounds.from_settings(settings),
            model_grades=settings.grades_with_model,
            web=settings.web,
        )
        self._window_asked = settings.llm_context_tokens is not None
        self.graph = build_graph(settings.step_timeout_seconds, self.persistence.checkpointer)
        self.version = AgentVersion(settings, self.graph)
        self._slots = asyncio.Semaphore(settings.max_concurrent_writes)

    def _searched(self) -> str:
        """What a refusal says was searched: the library, and the web if research may ask it."""
        said = self.context.library.describe()
        if web := self.context.web:
            said += " and the web (" + ", ".join(NAMES[p] for p in web.providers) + ")"
        return said

    async def write(
        self, request: WriteRequest, on_event: EventHook | None = None, tokens: bool = False
    ) -> TurnResult:
        """Writes one article; raises WriteFailed with a code the caller can map to a status.

        `on_event` hears the run's progress (`service.events`), `trace` first; `tokens` adds the
        article's text as the writing nodes produce it (the model then streams).
        """
        request = replace(request, session_id=request.session_id or new_session_id())
        given = ArticleInput(
            topic=request.topic,
            audience=request.audience,
            tone=request.tone,
            target_words=request.target_words,
            review_outline=request.review_outline,
        )
        return await self._turn(request, "write", request.topic, given, on_event, tokens)

    async def write_article(
        self, request: WriteRequest, on_event: EventHook | None = None, tokens: bool = False
    ) -> WriteResult:
        """`write`, for a caller with no person to approve an outline (the command line, the
        evaluations): the run never pauses after its plan."""
        return _written(await self.write(replace(request, review_outline=False), on_event, tokens))

    async def approve_outline(
        self, request: OutlineRequest, on_event: EventHook | None = None, tokens: bool = False
    ) -> WriteResult:
        """Resumes a write paused with `review_outline` after its plan: the outline approved as
        it was, or `request.outline` in its place. A new turn, in a trace of its own that names
        the paused one (`session.continues`)."""
        said = "outline approved, edited" if request.outline else "outline approved"
        return _written(await self._turn(request, "outline", said, None, on_event, tokens))

    async def revise(
        self, request: ReviseRequest, on_event: EventHook | None = None, tokens: bool = False
    ) -> WriteResult:
        """A later turn of the session: its article changed as `request.instruction` asks
        (`agent.amendments`), in a trace of its own; the same events and failures as `write`,
        and `unrevisable` for a change it cannot make."""
        follow_up = FollowUp(instruction=request.instruction, target_words=request.target_words)
        # Only the follow-up: the article's fields are the session's, in its checkpoint.
        given = cast(ArticleInput, {"follow_up": follow_up})
        turn = self._turn(request, "revise", request.instruction, given, on_event, tokens)
        return _written(await turn)

    async def _turn(
        self,
        request: Asked,
        kind: str,
        instruction: str,
        given: ArticleInput | None,
        on_event: EventHook | None,
        tokens: bool,
    ) -> TurnResult:
        """One turn of a session, claimed while it runs and recorded when it ends."""
        if request.user_id:
            logs.USER.set(request.user_id)  # the user of this turn's log lines
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
                self.sessions.turn(request.session_id, request.owner, kind, instruction) as turn,
                self._slots,
            ):
                # The root graph's namespace, "", named: a state update from a given checkpoint
                # (an edited outline) is saved by the checkpointer's put, which needs it.
                thread = {"thread_id": turn.session_id, "checkpoint_ns": ""}
                if kind == "write":
                    if turn.n > 1:  # a new article replaces the one it had
                        await self.persistence.checkpointer.adelete_thread(turn.session_id)
                elif kind == "outline":  # from the pause, if it has not expired
                    thread["checkpoint_id"] = self._paused_checkpoint(turn)
                else:  # from the article, whatever a failed turn left after it
                    if (current := turn.record.current) is None:
                        raise WriteFailed("no_article", None)
                    thread["checkpoint_id"] = current
                return await self._measured(
                    kind, self._write(request, given, thread, on_event or _ignore, tokens, turn)
                )
        except UnknownSession:
            raise WriteFailed("unknown_session", None) from None
        except SessionBusy:
            raise WriteFailed("session_busy", None) from None

    @staticmethod
    async def _measured(kind: str, run: Coroutine[Any, Any, TurnResult]) -> TurnResult:
        """The turn, counted by kind and outcome (`tracing.metrics`), with its tokens."""
        try:
            result = await run
        except WriteFailed as exc:
            metrics.record_turn(kind, exc.code)
            raise
        except asyncio.CancelledError:
            metrics.record_turn(kind, "cancelled")
            raise
        if isinstance(result, PausedOutline):
            metrics.record_turn(kind, "awaiting_outline")
        else:
            usage = result.usage
            metrics.record_turn(kind, "article", usage.input_tokens, usage.output_tokens)
        return result

    def _paused_checkpoint(self, turn: TurnInProgress) -> str:
        pending = turn.record.pending_outline
        if pending is None or pending.checkpoint_id is None:
            raise WriteFailed("no_outline", None)
        waited = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(pending.at)
        if waited.total_seconds() > self.settings.outline_ttl_seconds:
            raise WriteFailed("outline_expired", None)
        turn.continues = pending.trace_id
        return pending.checkpoint_id

    def _outline_expires(self) -> str:
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.settings.outline_ttl_seconds)
        return expires.isoformat(timespec="seconds")

    async def _write(
        self,
        request: Asked,
        given: ArticleInput | None,
        thread: dict[str, str],
        emit: EventHook,
        tokens: bool,
        turn: TurnInProgress,
    ) -> TurnResult:
        counter = UsageMetadataCallbackHandler()
        started = time.perf_counter()
        with opened(request) as record:
            trace_id = turn.trace_id = record.trace_id
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
            # Loaded inside the trace, so MLflow links each prompt version to it.
            prompts = await asyncio.to_thread(self.prompts.resolve, request.prompt_alias)
            self.version.note_prompts(prompts.summary())
            record.describe(
                model_id=self.version.model_id,
                metadata={
                    "app.version": APP_VERSION,
                    "llm.provider": self.settings.provider,
                    "llm.model": self.settings.model_name,
                    "llm.context_tokens": str(self.context.limits.context_tokens or "unknown"),
                    "session.turn": str(turn.n),
                    "session.turn_kind": turn.kind,
                    **({"session.continues": turn.continues} if turn.continues else {}),
                },
                prompt_source=prompts.source,
                prompt_alias=prompts.alias,
            )
            # A file added to, changed in or removed from SOURCES_DIR since: read again.
            library = await asyncio.to_thread(self.context.library.refreshed)
            self.context = replace(self.context, library=library)
            context = replace(self.context, prompts=prompts)
            try:
                async with asyncio.timeout(self.settings.request_timeout_seconds):
                    # Its own task: spans the graph leaves active never leak into the caller's
                    # context.
                    final = await asyncio.create_task(
                        self._run(request, given, thread, context, counter, emit, tokens)
                    )
            except asyncio.CancelledError:
                # The caller went away (a client hung up): the graph task is cancelled with us,
                # so no further model call starts; the trace says what happened.
                record.cancelled()
                raise
            except Exception as exc:
                code = classify(exc)
                log.warning("article failed (%s, trace %s): %r", code, trace_id, exc)
                record.failed(code)
                await turn.done(error=code)
                # Only the app's own words reach the client: a provider's error text stays in
                # the log and the trace.
                if isinstance(exc, Unwritable):
                    raise WriteFailed(code, trace_id, exc.message, exc.details) from None
                raise WriteFailed(code, trace_id) from None
            outcome = await self._ended(request, final, turn, record)
            totals = usage.total(counter)
            cost = usage.cost_usd(self.settings, totals)
            record.cost(cost)
        if isinstance(outcome, PausedOutline):
            return outcome
        return WriteResult(
            article=outcome,
            trace_id=trace_id,
            usage=totals,
            cost_usd=cost,
            model=self.settings.model_name,
            duration_ms=round((time.perf_counter() - started) * 1000),
            prompts=prompts.summary(),
            session_id=turn.session_id,
            turn=turn.n,
        )

    async def _ended(
        self, request: Asked, final: dict[str, Any], turn: TurnInProgress, record: TraceRecord
    ) -> Article | PausedOutline:
        """How the graph's run ended, recorded on the session and the trace: an article, an
        outline paused for approval, or no sources on the topic (`WriteFailed`)."""
        saved = await self.graph.aget_state({"configurable": {"thread_id": turn.session_id}})
        checkpoint = saved.config["configurable"]["checkpoint_id"]
        if saved.next:  # paused after the plan (`review_outline`): a person approves it
            outline: Outline = final["outline"]
            record.paused(outline)
            await turn.done(title=outline.title, awaiting="outline", checkpoint_id=checkpoint)
            return PausedOutline(
                outline, record.trace_id, turn.session_id, turn.n, self._outline_expires()
            )
        if "article" not in final:  # the coverage gate ended the run: nothing to stand on
            assert isinstance(request, WriteRequest), "a follow-up starts from an article"
            coverage = final["coverage"]
            record.no_sources()
            await turn.done(error="no_sources")
            raise WriteFailed(
                "no_sources",
                record.trace_id,
                no_sources_message(request.topic, coverage, self._searched()),
                {"closest_sources": [s.model_dump() for s in coverage.closest]},
            )
        article: Article = final["article"]
        record.article(article)
        await turn.done(title=article.title, words=article.word_count, checkpoint_id=checkpoint)
        return article

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

    async def _run(
        self,
        request: Asked,
        given: ArticleInput | None,
        thread: dict[str, str],
        context: WriterContext,
        counter: UsageMetadataCallbackHandler,
        emit: EventHook,
        tokens: bool,
    ) -> dict[str, Any]:
        """The graph's run from `given` on the session's `thread` (and, for a follow-up or an
        approval, the checkpoint it starts from), reported as events; the final state."""
        config: RunnableConfig = {
            "callbacks": [counter],
            "recursion_limit": RECURSION_LIMIT,
            "configurable": thread,
        }
        if isinstance(request, OutlineRequest) and request.outline is not None:
            # The edited outline stands where the plan's did, as if `plan` had written it.
            edited = await self.graph.aupdate_state(
                config, {"outline": request.outline}, as_node="plan"
            )
            config = {**config, "configurable": edited["configurable"]}
        parts = self.graph.astream(
            given,  # None: go on from the checkpoint
            config,
            context=context,
            stream_mode=events.stream_modes(tokens),
            # The state is saved once, when the run ends: a session needs the turn's outcome,
            # not every step of it. Saving after each step (LangGraph's default) stored 580 KiB
            # an article instead of 41 and cost 1.5x the run's time (docs/sessions.md).
            durability="exit",
            # LangGraph's breakpoint: the run stops after the plan and saves where it stopped.
            interrupt_after=["plan"] if given and given.get("review_outline") else None,
        )
        return await events.relay(parts, emit, lambda: asdict(usage.total(counter)))


def _written(result: TurnResult) -> WriteResult:
    """The article of a turn that cannot pause: a follow-up, an approval, or a write that asked
    for no outline review (only a write's plan pauses, when it asks to)."""
    assert isinstance(result, WriteResult), "only a write with review_outline pauses"
    return result


def _ignore(event: Event) -> None:
    pass
