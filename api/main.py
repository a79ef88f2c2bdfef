"""The FastAPI app: `uvicorn --factory api.main:create_app`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

import tracing
from agent import spans
from api import errors, middleware
from api.middleware import AccessLog, BodyLimit, SecurityHeaders
from api.routes import (
    analytics,
    debug,
    feedback,
    health,
    page,
    prompts,
    runs,
    sessions,
    traces,
    write,
)
from api.schemas import ErrorBody
from api.security import auth
from api.security import ratelimit_routes as ratelimits
from api.security.keys import KeyRing
from api.security.ratelimit import RateLimiter
from api.settings import ApiSettings, get_settings
from service import logs
from service.runs import BackgroundRuns
from service.sessions import open_persistence
from service.turn import ArticleWriter
from service.versions import APP_VERSION
from tracing import metrics

log = logging.getLogger(__name__)
# What a page elsewhere may send, and read of the answer, from a browser.
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Accept", "Last-Event-ID", "Prefer"]
CORS_RESPONSE_HEADERS = ["X-Trace-Id", "X-Request-Id", "Retry-After", "Location"]
ADMISSION: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "`unauthorized`: no API key, or one not accepted."},
    429: {
        "model": ErrorBody,
        "description": "`rate_limited` (over RATE_LIMIT_PER_MINUTE) or `too_many_in_flight` "
        "(RATE_LIMIT_IN_FLIGHT articles in progress); wait the Retry-After seconds.",
    },
}


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings.log_format, settings.log_level, settings.secrets())
    # Read now, so that a missing or malformed key file stops the start with its reason.
    keys = KeyRing(
        settings.api_keys.get_secret_value() if settings.api_keys else None,
        settings.api_keys_file,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tracing.configure(settings, spans.PROCESSORS)
        app.state.settings = settings
        if not keys.enabled and not auth.loopback(settings.api_host):
            log.warning(
                "API_KEYS is not set and the API listens on %s: whoever reaches it may write "
                "articles and read every trace. Make keys with `writer keys new <name>`.",
                settings.api_host,
            )
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
    app.state.keys = keys
    app.state.limiter = RateLimiter(
        settings.rate_limit_per_minute,
        settings.rate_limit_in_flight,
        settings.rate_limit_url,
        # A slot whose turn never released it lapses after the longest a turn may take.
        slot_lapse_seconds=settings.request_timeout_seconds + settings.shutdown_grace_seconds,
    )
    errors.install(app)
    # With API keys, every route but these two and the page's files needs one; the same
    # routes count against the caller's rate limit.
    app.include_router(health.router)
    app.include_router(page.router)
    keyed = [write, feedback, sessions, runs, traces, analytics, prompts]
    admitted = [Depends(auth.caller), Depends(ratelimits.admitted)]
    for routes in keyed + ([debug] if settings.runtime_stats_enabled else []):
        app.include_router(routes.router, dependencies=admitted, responses=ADMISSION)
    # Outermost last: the request id exists before the body limit may answer 413, and the
    # access log, between them, has the id and sees the 413s.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if origins := settings.cors_origin_list:
        # Outside the body limit, so a preflight and a 413 both carry the CORS headers.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=[*CORS_REQUEST_HEADERS, middleware.HEADER],
            expose_headers=CORS_RESPONSE_HEADERS,
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name=middleware.HEADER,
        validator=middleware.well_formed,
        generator=middleware.new_request_id,
        update_request_header=False,  # the app reads the id from current_request_id()
    )
    return app
