"""Why an article was not written: a code that says whose fault it is, and a safe message.

The agent raises `agent.failures.Unwritable` when the run cannot honestly go on; the turn turns
it, and the failures of the provider and of time, into `WriteFailed`. Which HTTP status each
code is sent with is the API's to say (`api/status.py`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import openai

from agent import failures as agent_failures
from agent.failures import Unwritable
from tracing.processors import SECRET_SHAPES


class WriteFailed(Exception):
    """A run that could not finish; the message is safe to show to the user."""

    MESSAGES: ClassVar[dict[str, str]] = {
        **agent_failures.MESSAGES,
        "provider_error": "The language model provider did not answer successfully, even after "
        "retries. Try again later.",
        "provider_rejected": "The language model provider refused the request; retrying will "
        "not help. Check LLM_MODEL and the provider's settings (the server log has the "
        "provider's status).",
        "timeout": "Writing the article took longer than the server allows. Try a shorter "
        "target length, or try again later.",
        "internal_error": "The article could not be written because of an internal error.",
        "busy": "The server is writing as many articles as it allows at once. Try again in a "
        "few seconds.",
        "unknown_session": "There is no session with that id for this user. Sessions belong to "
        "the user_id of their first turn (on a server with API keys, to the key that started "
        "them): name the same user_id, or leave session_id out to start a new session.",
        "session_busy": "A turn of this session is still running. Wait for it to finish, then "
        "try again.",
        "no_article": "This session has no article to revise: its write did not produce one "
        "(or its outline awaits approval). Write one first with POST /write and this "
        "session_id.",
        "unknown_run": "There is no run with that id for this user. Runs belong to the "
        "user_id of the request that started them (on a server with API keys, to its key): "
        "name the same user_id.",
        "no_outline": "No outline of this session awaits approval: only the last turn of a "
        "write sent with review_outline can be approved.",
        "outline_expired": "The outline waited for approval longer than the server keeps it. "
        "Write the article again with POST /write.",
    }

    def __init__(
        self,
        code: str,
        trace_id: str | None,
        message: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        # A message may quote the request (the topic); a key pasted into it stays out of the
        # answer, the stream's `error` event and a background run's outcome alike.
        super().__init__(SECRET_SHAPES.sub("[REDACTED]", message or self.MESSAGES[code]))
        self.code = code
        self.trace_id = trace_id
        self.details = details or {}


def classify(exc: BaseException) -> str:
    """Whose fault a failure inside the run is, as a code of `WriteFailed.MESSAGES`."""
    if isinstance(exc, Unwritable):
        return exc.code
    if isinstance(exc, TimeoutError):  # the run's or a step's bound
        return "timeout"
    if isinstance(exc, openai.BadRequestError) and _context_overflow(exc.message):
        return "context_too_small"
    if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
        # The client retried 408, 409 and 429 already; any other 4xx is the same next time.
        return "provider_error" if exc.status_code in (408, 409, 429) else "provider_rejected"
    if isinstance(exc, openai.APIError):  # 5xx, timeouts, connection failures, after retries
        return "provider_error"
    if isinstance(exc, openai.LengthFinishReasonError | openai.ContentFilterFinishReasonError):
        return "model_error"
    return "internal_error"


def _context_overflow(message: str) -> bool:
    # OpenAI says context_length_exceeded; llama.cpp "exceeds the available context size";
    # vLLM "maximum context length"; Ollama "prompt is too long".
    text = message.lower()
    return ("context" in text and any(w in text for w in ("exceed", "maximum", "length"))) or (
        "prompt is too long" in text
    )
