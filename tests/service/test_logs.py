"""The server's log (service/logs.py): JSON or text lines, the request's ids and user on each,
and no secret in any line, traceback included."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from api.security import keys
from service import logs

KEY = keys.new_key()


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What the log handler writes, after `logs.configure`; the root logger restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure("json", "INFO", ["configured-secret-value"])
    (handler,) = [h for h in root.handlers if h.get_name() == logs.HANDLER]
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    handler.setStream(out)
    yield out
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_line_is_json_with_the_requests_user(written: io.StringIO) -> None:
    token = logs.USER.set("ada")
    try:
        logging.getLogger("agent.test").warning("wrote %d words", 300)
    finally:
        logs.USER.reset(token)
    (line,) = lines(written)
    assert line["message"] == "wrote 300 words" and line["level"] == "WARNING"
    assert line["logger"] == "agent.test" and line["user"] == "ada"
    assert line["request_id"] is None and line["trace_id"] is None  # outside a request
    assert str(line["time"]).endswith("+00:00")


def test_no_key_or_secret_reaches_a_line_or_its_traceback(written: io.StringIO) -> None:
    log = logging.getLogger("agent.test")
    log.warning("topic %r from %s", f"bees {KEY}", "configured-secret-value")
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        log.exception("failed")
    text = written.getvalue()
    assert KEY not in text and "configured-secret-value" not in text
    first, second = lines(written)
    assert first["message"] == "topic 'bees [REDACTED]' from [REDACTED]"
    assert "ValueError: bad key [REDACTED]" in str(second["exc_info"])


def test_configuring_twice_keeps_one_handler(written: io.StringIO) -> None:
    logs.configure("text", "INFO", [])
    ours = [h for h in logging.getLogger().handlers if h.get_name() == logs.HANDLER]
    assert len(ours) == 1
    assert logging.getLogger("uvicorn.access").disabled  # api.middleware.AccessLog instead
    assert logging.getLogger("uvicorn").propagate and not logging.getLogger("uvicorn").handlers
