"""Rate limits per caller (an API key's name, or the client's address without keys): requests a
minute, on a moving window of the `limits` library, and articles in flight.

The window lives in this process by default, so each replica counts its own; with
RATE_LIMIT_URL (`redis://host:6379/0`) every replica counts in the same Redis. Articles in flight
are counted by each process: a turn holds its slot while it runs, and a slot whose turn never
got to release it (a stream whose client left before it began) lapses after the longest a turn
may run. A limiter that cannot reach its Redis lets requests through and logs it: the limit
protects capacity, and refusing everyone while Redis is down would be the outage it guards
against.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

log = logging.getLogger(__name__)


class Limited(Exception):
    """Over a limit: `code` says which, `retry_after` is how many seconds to wait."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


def storage(url: str | None) -> Storage:
    if url is None:
        return MemoryStorage()
    # `limits` names its asyncio storages `async+redis://`; a user writes the usual URL.
    return RedisStorage(f"async+{url}", wrap_exceptions=True)


class RateLimiter:
    def __init__(
        self, per_minute: int, in_flight: int, url: str | None, slot_lapse_seconds: float
    ) -> None:
        self.per_minute = per_minute
        self.in_flight = in_flight
        self.shared = url is not None
        self.window = MovingWindowRateLimiter(storage(url))
        self.item = RateLimitItemPerMinute(per_minute) if per_minute else None
        self.slot_lapse_seconds = slot_lapse_seconds
        self._slots: dict[str, dict[str, float]] = {}
        self._unreachable = False

    async def hit(self, caller: str) -> None:
        """Counts a request; Limited when it is over the caller's requests a minute."""
        if self.item is None:
            return
        try:
            allowed = await self.window.hit(self.item, caller)
            stats = None if allowed else await self.window.get_window_stats(self.item, caller)
        except StorageError as exc:
            if not self._unreachable:
                log.warning("rate limits are not applied: their Redis failed (%s)", exc)
            self._unreachable = True
            return
        if self._unreachable:
            log.warning("rate limits apply again: their Redis answers")
            self._unreachable = False
        if stats is not None:
            wait = max(1, math.ceil(stats.reset_time - time.time()))
            raise Limited(
                "rate_limited",
                f"More than {self.per_minute} requests a minute from this caller "
                f"(RATE_LIMIT_PER_MINUTE). Try again in {wait} seconds.",
                wait,
            )

    def take(self, caller: str) -> Callable[[], None]:
        """One of the caller's articles in flight, and the function that gives it back;
        Limited when all are taken."""
        if not self.in_flight:
            return lambda: None
        now = time.monotonic()
        held = self._slots.setdefault(caller, {})
        for token, since in list(held.items()):
            if now - since > self.slot_lapse_seconds:
                del held[token]
        if len(held) >= self.in_flight:
            raise Limited(
                "too_many_in_flight",
                f"This caller already has {self.in_flight} articles in progress "
                "(RATE_LIMIT_IN_FLIGHT). Wait for one to finish, then try again.",
                5,  # most turns end within seconds
            )
        token = uuid.uuid4().hex
        held[token] = now

        def give_back() -> None:
            held.pop(token, None)
            if not held and self._slots.get(caller) is held:
                del self._slots[caller]

        return give_back
