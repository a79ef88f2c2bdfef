"""What the app takes of a caller's W3C trace context: a `traceparent` that names a span, and
its `tracestate`; anything else is ignored, so the request gets a trace of its own."""

from __future__ import annotations

import pytest

from tracing.distributed import caller_context

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_valid_traceparent_is_kept_with_its_tracestate() -> None:
    sent = {"traceparent": PARENT, "tracestate": "congo=t61rcWkgMzE", "accept": "*/*"}
    assert caller_context(sent) == {"traceparent": PARENT, "tracestate": "congo=t61rcWkgMzE"}


def test_an_unsampled_parent_is_still_a_parent() -> None:
    unsampled = PARENT[:-2] + "00"
    assert caller_context({"traceparent": unsampled}) == {"traceparent": unsampled}


@pytest.mark.parametrize(
    "sent",
    [
        {},
        {"tracestate": "congo=t61rcWkgMzE"},  # state without a parent names nothing
        {"traceparent": ""},
        {"traceparent": "garbage", "tracestate": "congo=1"},
        {"traceparent": PARENT.replace("4bf92f3577b34da6a3ce929d0e0e4736", "0" * 32)},
        {"traceparent": PARENT.replace("00f067aa0ba902b7", "0" * 16)},
        {"traceparent": "ff" + PARENT[2:]},
    ],
)
def test_anything_else_is_ignored(sent: dict[str, str]) -> None:
    assert caller_context(sent) == {}
