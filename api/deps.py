"""Dependencies, declared once: the writer, the tracking connection and the settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from agent.settings import Settings
from agent.tracing import TrackingConnection
from agent.writer import ArticleWriter


def _writer(request: Request) -> ArticleWriter:
    return request.app.state.writer


def _tracking(request: Request) -> TrackingConnection:
    return request.app.state.tracking


def _settings(request: Request) -> Settings:
    return request.app.state.settings


WriterDep = Annotated[ArticleWriter, Depends(_writer)]
TrackingDep = Annotated[TrackingConnection, Depends(_tracking)]
SettingsDep = Annotated[Settings, Depends(_settings)]
