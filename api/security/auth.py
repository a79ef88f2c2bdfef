"""API keys on the routes (`api.security.keys`): who is calling, or a 401 that says what to send.

`api.main` puts `caller` on every router but health and the page's files; a route that needs the
key's name (the trace's user, a session's owner) names `CallerDep` too, and FastAPI runs it once.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.security.keys import KeyRing
from service import logs
from service.request import ID_PATTERN, owner_of

# Declares the scheme in the OpenAPI document, so /docs has an "Authorize" button; it answers
# nothing itself (auto_error=False): `caller` says what was wrong.
bearer = HTTPBearer(
    auto_error=False,
    description="An API key, `Authorization: Bearer awk_...`; needed when the server has "
    "API_KEYS or API_KEYS_FILE set.",
)

MISSING = (
    "This server needs an API key: send it as the header 'Authorization: Bearer <key>'. "
    "Its operator makes one with `writer keys new <name>`."
)
UNKNOWN = (
    "That API key is not accepted: it may be mistyped or revoked. Ask the server's operator "
    "for a current one."
)


class Unauthorized(Exception):
    """No key, or a key the server does not accept; the message says which (api.errors: 401)."""


def get_keys(request: Request) -> KeyRing:
    return request.app.state.keys


async def caller(
    keys: Annotated[KeyRing, Depends(get_keys)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> str | None:
    """The name of the key that sent the request; None when the API has no keys."""
    if not keys.enabled:
        return None
    if credentials is None:  # no header, or another scheme than Bearer
        raise Unauthorized(MISSING)
    name = keys.name_of(credentials.credentials)
    if name is None:
        raise Unauthorized(UNKNOWN)
    logs.USER.set(name)  # the log's user, until a turn names its own
    return name


CallerDep = Annotated[str | None, Depends(caller)]


async def caller_owner(
    key: CallerDep,
    user_id: Annotated[
        str | None,
        Query(
            pattern=ID_PATTERN,
            description="Its owner: the user_id of the request that started it (ignored when "
            "the API has keys: then the key is the owner).",
        ),
    ] = None,
) -> str | None:
    """Whose session or run a GET or DELETE may touch."""
    return owner_of(key, user_id)


OwnerDep = Annotated[str | None, Depends(caller_owner)]


def as_caller(fields: dict[str, Any], key_name: str | None) -> dict[str, Any]:
    """A turn's fields as the caller sent them: a key's name is the user when none is named,
    and it owns the session."""
    return {**fields, "user_id": fields.get("user_id") or key_name, "key_name": key_name}


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: reachable from wherever it resolves
        return False
