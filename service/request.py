"""What a caller may ask for, declared once: the request, its defaults, bounds and id rules.

The API's body (`api/schemas.py`), the command line, the evaluation's `predict_fn` and the
offline model all read these, so a default or a bound changes in one place.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.settings import ALIAS_PATTERN

if TYPE_CHECKING:
    from agent.state import Outline

# User, session and request ids: what MLflow and logs carry safely.
ID_PATTERN = r"^[A-Za-z0-9._:@\-]{1,128}$"
TRACE_ID_PATTERN = r"^tr-[0-9a-f]{32}$"
# What a value that misses each pattern is told, in words rather than a regular expression.
PATTERN_RULES = {
    ID_PATTERN: "Use 1-128 letters, digits or . _ : @ -",
    ALIAS_PATTERN: "Use 1-64 letters, digits, _ or -, such as staging or production.",
    TRACE_ID_PATTERN: "A trace id is tr- followed by 32 lowercase hex digits, as /write "
    "returned it (its trace_id field or X-Trace-Id header).",
}


def owner_of(key_name: str | None, user_id: str | None) -> str | None:
    """Whose sessions and runs a call may see: the API key that sent it, when the API has keys,
    else the `user_id` it names (None: a session no later call can name)."""
    return key_name if key_name is not None else user_id


class Owned:
    """A turn, whose session belongs to `owner_of` its key and user."""

    user_id: str | None
    key_name: str | None

    @property
    def owner(self) -> str | None:
        return owner_of(self.key_name, self.user_id)


@dataclass(frozen=True)
class WriteRequest(Owned):
    topic: str
    audience: str = "general readers"
    tone: str = "clear and neutral"
    target_words: int = 600
    user_id: str | None = None
    session_id: str | None = None
    prompt_alias: str | None = None  # None: the PROMPT_ALIAS setting
    review_outline: bool = False  # pause after the plan for a person to approve or edit it
    key_name: str | None = None  # the API key's name, when the API has keys
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The caller's W3C trace context (`traceparent`, `tracestate`): the trace this turn goes on.
    trace_context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutlineRequest(Owned):
    """The answer to an outline paused for approval: approved as it is, or an edited one."""

    session_id: str
    outline: Outline | None = None  # None: approved as it was
    user_id: str | None = None
    prompt_alias: str | None = None
    key_name: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The caller's W3C trace context (`traceparent`, `tracestate`): the trace this turn goes on.
    trace_context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviseRequest(Owned):
    """A later turn of a session: a change to the article it has, in the reader's words."""

    session_id: str
    instruction: str
    user_id: str | None = None
    target_words: int | None = None  # a length named beside the instruction
    prompt_alias: str | None = None
    key_name: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # The caller's W3C trace context (`traceparent`, `tracestate`): the trace this turn goes on.
    trace_context: dict[str, str] = field(default_factory=dict)


DEFAULTS = WriteRequest(topic="")


def new_session_id() -> str:
    """A session id for a caller that named none: unguessable, since it names their article."""
    return f"s-{uuid.uuid4().hex}"
