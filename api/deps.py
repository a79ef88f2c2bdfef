"""Dependencies, declared once: the writer, the tracking connection and the settings.

The lifespan (`api.main.create_app`) makes each of them once and keeps it on `app.state`; routes
take them through the `*Dep` aliases. The functions are public so that a test can swap one for
a stand-in with `app.dependency_overrides[get_writer] = ...` (a writer that fails on purpose,
say) without starting a server.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.settings import ApiSettings
from service.runs import BackgroundRuns
from service.turn import ArticleWriter
from tracing import TrackingConnection


def get_writer(request: Request) -> ArticleWriter:
    """The app's one `ArticleWriter`: it holds the concurrency slots every request shares."""
    return request.app.state.writer


def get_tracking(request: Request) -> TrackingConnection:
    """The connection to the tracking server: trace links and the readiness check."""
    return request.app.state.tracking


def get_app_settings(request: Request) -> ApiSettings:
    """The settings the app was created with.

    Not `agent.settings.get_settings`, which reads the environment: an app made with
    `create_app(settings)` serves those settings, whatever the environment says.
    """
    return request.app.state.settings


def get_runs(request: Request) -> BackgroundRuns:
    """Background runs (`Prefer: respond-async`) and their event logs."""
    return request.app.state.runs


WriterDep = Annotated[ArticleWriter, Depends(get_writer)]
RunsDep = Annotated[BackgroundRuns, Depends(get_runs)]
TrackingDep = Annotated[TrackingConnection, Depends(get_tracking)]
SettingsDep = Annotated[ApiSettings, Depends(get_app_settings)]
