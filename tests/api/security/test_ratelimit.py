"""Rate limits (api/security/ratelimit.py) in this process: requests a minute, articles in
flight."""

from __future__ import annotations

import pytest

from api.security.ratelimit import Limited, RateLimiter


def limiter(per_minute: int = 3, in_flight: int = 2, lapse: float = 60) -> RateLimiter:
    return RateLimiter(per_minute, in_flight, None, slot_lapse_seconds=lapse)


async def test_the_request_after_the_limit_waits_and_others_do_not() -> None:
    limits = limiter(per_minute=3)
    for _ in range(3):
        await limits.hit("key:ada")
    with pytest.raises(Limited) as refused:
        await limits.hit("key:ada")
    assert refused.value.code == "rate_limited"
    assert 1 <= refused.value.retry_after <= 60
    assert "More than 3 requests a minute" in str(refused.value)
    await limits.hit("key:grace")  # another caller counts apart


async def test_zero_means_no_limit() -> None:
    limits = limiter(per_minute=0, in_flight=0)
    for _ in range(200):
        await limits.hit("address:127.0.0.1")
    releases = [limits.take("address:127.0.0.1") for _ in range(50)]
    assert len(releases) == 50


def test_articles_in_flight_are_held_until_given_back() -> None:
    limits = limiter(in_flight=2)
    first, second = limits.take("key:ada"), limits.take("key:ada")
    with pytest.raises(Limited) as refused:
        limits.take("key:ada")
    assert refused.value.code == "too_many_in_flight" and refused.value.retry_after > 0
    limits.take("key:grace")  # another caller's slots are its own
    first()
    third = limits.take("key:ada")
    second(), third()
    second()  # giving back twice changes nothing
    limits.take("key:ada"), limits.take("key:ada")


def test_a_slot_never_given_back_lapses() -> None:
    limits = limiter(in_flight=1, lapse=-1)  # lapsed as soon as taken; the app's: a turn's bound
    limits.take("key:ada")  # its turn never started, so nothing gives it back
    limits.take("key:ada")
    held = limiter(in_flight=1, lapse=3600)
    held.take("key:ada")
    with pytest.raises(Limited):
        held.take("key:ada")
