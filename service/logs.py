"""The server's log: one handler on the root logger, as text or JSON lines (LOG_FORMAT), every
line with the request id, the trace id and the user of the request it belongs to, and no secret.

uvicorn's and MLflow's loggers are sent through it too, so a JSON log has no line in another
shape; uvicorn's access log is replaced by `api.middleware.AccessLog`, which knows the request
id and the trace id and leaves the query string (a topic, a user's text) out.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Callable
from typing import Literal

import mlflow
from asgi_correlation_id import correlation_id
from pythonjsonlogger.json import JsonFormatter

from tracing.processors import masker

HANDLER = "article-writer"
TEXT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(trace_id)s %(user)s] %(message)s"
FIELDS = ("request_id", "trace_id", "user")
# Loggers that bring handlers of their own; theirs are removed so that their lines come here.
ADOPTED = ("uvicorn", "uvicorn.error", "mlflow")
CHATTY = ("httpx", "httpcore", "bm25s")

# Who the request being answered is for: set by the API once it knows (the key's name, or the
# user_id a turn names).
USER: contextvars.ContextVar[str | None] = contextvars.ContextVar("log_user", default=None)


class RequestContext(logging.Filter):
    """Adds the request's ids and user to each record; a field a record brings (the access
    log's trace id, from the response) is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = correlation_id.get()
        if getattr(record, "trace_id", None) is None:
            record.trace_id = mlflow.get_active_trace_id()
        if getattr(record, "user", None) is None:
            record.user = USER.get()
        record.__dict__.pop("color_message", None)  # uvicorn's copy of the message, in ANSI
        return True


class Masker(logging.Filter):
    """Masks secrets in the finished message and its traceback: configured ones, and anything
    shaped like an API key or a provider key, wherever a caller pasted it."""

    def __init__(self, mask: Callable[[str], str]) -> None:
        super().__init__()
        self.mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if (masked := self.mask(message)) != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            # Formatted once, here, so that the traceback is masked too; formatters print
            # `exc_text` when the record has no `exc_info` left to format again.
            record.exc_text = record.exc_text or logging.Formatter().formatException(
                record.exc_info
            )
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True


def configure(log_format: Literal["text", "json"], level: str, secrets: list[str]) -> None:
    """Installs the handler (again: a second call replaces the first, as a second app would)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == HANDLER]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER)
    handler.addFilter(RequestContext())
    handler.addFilter(Masker(masker(secrets)))
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                ["levelname", "name", "message", *FIELDS, "process"],
                # `pid`: which worker process said it, when API_WORKERS runs several.
                rename_fields={"levelname": "level", "name": "logger", "process": "pid"},
                timestamp="time",  # ISO 8601, UTC
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT))
    root.addHandler(handler)
    root.setLevel(level)
    for name in ADOPTED:
        adopted = logging.getLogger(name)
        adopted.handlers.clear()
        adopted.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # AccessLog says it, with the ids
    # A line per model call (httpx) or index build (bm25s) is debugging, not the server's log.
    for chatty in CHATTY:
        logging.getLogger(chatty).setLevel(level if level == "DEBUG" else "WARNING")
