"""The FastAPI app: `uvicorn --factory api.main:create_app`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI

from agent import metrics, tracing
from agent.runs import BackgroundRuns
from agent.sessions import open_persistence
from agent.settings import Settings, get_settings
from agent.versions import APP_VERSION
from agent.writer import ArticleWriter
from api import errors, middleware
from api.middleware import BodyLimit
from api.routes import debug, feedback, health, page, runs, sessions, traces, write

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracing.configure(settings)
        app.state.settings = settings
        # Sessions' checkpoints and records: open for the app's life, closed after the last
        # request has drained.
        async with open_persistence(
            settings.checkpoint_url, settings.checkpoint_pool_size
        ) as persistence:
            app.state.writer = ArticleWriter(settings, persistence)
            app.state.runs = runs = BackgroundRuns(
                persistence.runs, settings.run_retention_seconds, settings.run_max_events
            )
            app.state.tracking = tracking = tracing.TrackingConnection(settings)
            catalog = app.state.writer.prompts
            version = app.state.writer.version
            # In this order: the tracking check sets the experiment the agent version lives in.
            traced = [tracking.check, version.check] if settings.tracing_enabled else []
            checks = [catalog.check, *traced]
            for check in checks:
                await check()
            tracked_problem = tracking.problem if settings.tracing_enabled else None
            for problem in (tracked_problem, catalog.problem):
                if problem:
                    log.warning("degraded: %s", problem)
            watcher = asyncio.create_task(tracing.keep_checking(checks))
            try:
                yield
            finally:
                watcher.cancel()
                # Background runs get the same grace as requests in flight.
                await runs.shutdown(settings.shutdown_grace_seconds)
                if settings.tracing_enabled:
                    # Traces still queued for export are written before the process ends.
                    await asyncio.to_thread(tracing.flush)
                await asyncio.to_thread(metrics.shutdown)  # and the last metrics are sent

    app = FastAPI(
        title="Article writer",
        version=APP_VERSION,
        description="A LangGraph agent that writes sourced articles, traced end to end in MLflow.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(write.router)
    app.include_router(feedback.router)
    app.include_router(sessions.router)
    app.include_router(runs.router)
    app.include_router(traces.router)
    app.include_router(health.router)
    app.include_router(page.router)
    if settings.runtime_stats_enabled:
        app.include_router(debug.router)
    # Outermost last: the request id exists before the body limit may answer 413.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name=middleware.HEADER,
        validator=middleware.well_formed,
        generator=middleware.new_request_id,
        update_request_header=False,  # the app reads the id from current_request_id()
    )
    return app
