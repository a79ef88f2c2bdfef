"""How failures reach the client: a stable code, a message a user can act on, the trace id.

Internal error text never leaves the server: it goes to the log and the trace.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mlflow.exceptions import MlflowException
from starlette.exceptions import HTTPException

from agent.prompts import UnknownPromptAlias
from api.middleware import current_request_id
from api.security.auth import Unauthorized
from api.security.ratelimit import Limited
from api.status import status_of
from service.failures import WriteFailed
from service.feedback import TraceNotFound
from service.request import PATTERN_RULES

log = logging.getLogger(__name__)
UNREADABLE_BODY = "The request body cannot be read as JSON: send a JSON object, encoded as UTF-8."


class BadParameter(ValueError):
    """A query parameter that is well-formed but cannot be used; the message says which."""


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    trace_id: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: object,
) -> JSONResponse:
    body = {
        "error": code,
        "message": message,
        "trace_id": trace_id,
        "request_id": current_request_id(),
    }
    headers = {**(headers or {}), **({"X-Trace-Id": trace_id} if trace_id else {})}
    if status == 503:
        headers["Retry-After"] = "5"
    return JSONResponse({**body, **extra}, status_code=status, headers=headers)


def _field_problem(error: dict) -> dict[str, str]:
    # A union's members add tags such as "literal['up','down']" or "constrained-int" to the
    # location; a user knows the field by its name (and list positions), not by those.
    location = [
        str(part)
        for part in error.get("loc", ())
        if part != "body" and (isinstance(part, int) or str(part).isidentifier())
    ]
    if error.get("type") == "json_invalid":
        return {"field": "body", "message": "The request body is not valid JSON."}
    if not location and error.get("type") in ("model_attributes_type", "dict_type"):
        return {
            "field": "body",
            "message": "Send a JSON object, with Content-Type: application/json.",
        }
    message = error.get("msg", "is invalid").removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "Unknown field: remove it (see the schema at /docs)."
    elif error.get("type") == "string_pattern_mismatch":
        message = PATTERN_RULES.get(error.get("ctx", {}).get("pattern"), message)
    return {"field": ".".join(location) or "body", "message": message}


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One problem per field: a union's members each say what they would accept.
        by_field: dict[str, list[str]] = {}
        for problem in map(_field_problem, exc.errors()):
            said = by_field.setdefault(problem["field"], [])
            if problem["message"] not in said:
                said.append(problem["message"])
        problems = [{"field": f, "message": "; or ".join(m)} for f, m in by_field.items()]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        return error_response(request, 422, "invalid_request", summary, fields=problems)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        # RFC 6750: a 401 names the scheme it wants.
        return error_response(
            request, 401, "unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(Limited)
    async def limited(request: Request, exc: Limited) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return error_response(request, 429, exc.code, str(exc), headers=headers)

    @app.exception_handler(UnknownPromptAlias)
    async def unknown_alias(request: Request, exc: UnknownPromptAlias) -> JSONResponse:
        return error_response(request, 422, "unknown_prompt_alias", str(exc))

    @app.exception_handler(TraceNotFound)
    async def no_trace(request: Request, exc: TraceNotFound) -> JSONResponse:
        return error_response(request, 404, "trace_not_found", str(exc), exc.trace_id)

    @app.exception_handler(BadParameter)
    async def bad_parameter(request: Request, exc: BadParameter) -> JSONResponse:
        return error_response(request, 422, "invalid_request", str(exc))

    @app.exception_handler(MlflowException)
    async def tracking_failed(request: Request, exc: MlflowException) -> JSONResponse:
        log.warning("tracking store failed on %s: %s", request.url.path, exc.error_code)
        return error_response(
            request,
            503,
            "tracking_unavailable",
            "The tracking server could not be reached; nothing was stored. Try again later.",
        )

    @app.exception_handler(WriteFailed)
    async def failed(request: Request, exc: WriteFailed) -> JSONResponse:
        return error_response(
            request, status_of(exc.code), exc.code, str(exc), exc.trace_id, **exc.details
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
            # FastAPI's bare 400 for a body its JSON parser cannot read (not UTF-8, or nested
            # too deep): to the client it is one more invalid body.
            problem = {"field": "body", "message": UNREADABLE_BODY}
            return error_response(
                request, 422, "invalid_request", f"body: {UNREADABLE_BODY}", fields=[problem]
            )
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        # Starlette's own headers, such as 405's `Allow`, go out with our body.
        return error_response(
            request, exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(
            request, 500, "internal_error", "The server failed to answer. Try again later."
        )
