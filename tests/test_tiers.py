"""`make test`'s runner (tests/tiers.py): every tier runs though one fails, each says how it
ended, and a missing system package skips its tests with the command that installs it."""

from __future__ import annotations

import sys

import pytest

from testbed.system import Need
from tests import tiers


def command(code: int) -> list[str]:
    return [sys.executable, "-c", f"raise SystemExit({code})"]


def test_a_failed_tier_does_not_stop_the_next_and_each_says_how_it_ended(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = Need("redis", "Redis (for the test)", ("redis-server",), lambda: False)
    monkeypatch.setattr(tiers, "NEEDS", (absent,))
    monkeypatch.setattr(tiers, "install", lambda needs: ["not root, or no apt-get"])
    monkeypatch.setattr(
        tiers,
        "tiers",
        lambda: [
            tiers.Tier("lint", [command(0), command(3), command(0)], "first"),
            tiers.Tier("offline", [command(0)], "second"),
        ],
    )
    monkeypatch.setattr(sys, "argv", ["tiers"])
    assert tiers.main() == 1
    out = capsys.readouterr().out
    summary = out.split("== summary", 1)[1]
    assert "lint: " in summary and "failed (exit 3: python -c raise SystemExit(3))" in summary
    assert "offline: " in summary and "passed" in summary.split("offline: ", 1)[1]
    assert "redis tests skipped: Redis (for the test) not installed; " in summary
    assert "`sudo apt-get install -y redis-server` installs it" in summary
    assert "system packages: not root, or no apt-get" in summary


def test_a_tier_not_named_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["tiers", "lint", "nope"])
    with pytest.raises(SystemExit) as refused:
        tiers.main()
    assert refused.value.code == 2
