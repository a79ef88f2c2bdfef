"""Rate limits on the routes (`api.security.ratelimit`): who counts as one caller, and the
check every route with a key makes; turns also hold an article slot while they run (`api.turns`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.security.auth import CallerDep
from api.security.ratelimit import RateLimiter


def get_limiter(request: Request) -> RateLimiter:
    return request.app.state.limiter


LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


def caller_id(request: Request, key: CallerDep) -> str:
    """One caller: an API key, or without keys the client's address (behind a proxy, uvicorn
    takes it from X-Forwarded-For when FORWARDED_ALLOW_IPS names the proxy)."""
    if key is not None:
        return f"key:{key}"
    return f"address:{request.client.host if request.client else 'unknown'}"


CallerIdDep = Annotated[str, Depends(caller_id)]


async def admitted(limiter: LimiterDep, caller: CallerIdDep) -> None:
    """Counts the request against the caller's requests a minute (429 when over)."""
    await limiter.hit(caller)
