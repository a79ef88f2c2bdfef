"""The HTTP status of each failure's code: the status table of the API, in one place.

The codes come from the layers below (`service.failures.WriteFailed`, whose messages the
client reads); a code's status says whose fault the failure is, and its flag whether the same
request may succeed if retried.
"""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorBody

# code -> (HTTP status, whether the same request may succeed if retried)
CODES: dict[str, tuple[int, bool]] = {
    "no_sources": (422, False),  # the library: nothing on the topic
    "context_too_small": (422, False),  # the request does not fit the model's context
    "model_error": (502, True),  # the model's answer was unusable, even after one retry
    "provider_rejected": (502, False),  # the provider refused the request (a 4xx)
    "provider_error": (502, True),  # the provider failed (5xx, 429, timeouts) after retries
    "timeout": (504, True),
    "busy": (503, True),
    "unknown_session": (404, False),  # no such session, or another user's
    "session_busy": (409, True),  # a turn of the same session is still running
    "no_article": (409, False),  # a follow-up on a session whose article was never written
    "unrevisable": (422, False),  # a follow-up asking for a change the app cannot make
    "unknown_run": (404, False),  # no such background run, or another user's
    "no_outline": (409, False),  # an approval, but no outline of the session awaits one
    "outline_expired": (410, False),  # the outline waited longer than OUTLINE_TTL_SECONDS
    "internal_error": (500, True),
}


def status_of(code: str) -> int:
    return CODES[code][0]


# What OpenAPI documents of the failures a write or a turn may end in.
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        404: "`unknown_session`: `session_id` names another user's session.",
        409: "`session_busy`: a turn of the same session is still running.",
        413: "Request body too large.",
        422: "Invalid request (each field to fix is named), an unknown prompt alias, "
        "`no_sources` (the library has nothing on the topic; `closest_sources` lists what it "
        "holds) or `context_too_small` (the article cannot fit the model's context).",
        500: "Internal error; the trace id identifies the request.",
        502: "`provider_error` (the provider failed after retries), `provider_rejected` (it "
        "refused the request; retrying will not help) or `model_error` (the model's answer "
        "was unusable, even after one corrective retry).",
        503: "Too many articles in progress; retry after the Retry-After seconds.",
        504: "The article took longer than the server allows.",
    }.items()
}

# ...and of a search of the traces (GET /traces, /analytics/tools).
SEARCH_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "A parameter that cannot make a search."},
    503: {"model": ErrorBody, "description": "The tracking server cannot be reached."},
}
