"""The system packages some tests need, how to tell whether the machine has each, and the command
that installs it. The tests that need one skip, saying so, when it is missing; `make test`
(tests/tiers.py) installs what it can first, and reports a tier it had to skip with its fix.

Standard library only: `make test` reads this before the project's environment runs anything.
"""

from __future__ import annotations

import glob
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def postgres_binaries() -> Path | None:
    """Where `initdb` and `pg_ctl` are: on PATH, or Debian's versioned folder."""
    if found := shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


@dataclass(frozen=True)
class Need:
    marker: str  # the pytest marker of the tests that need it
    what: str  # what the tests use it for, as the skip reason and the report say
    apt: tuple[str, ...]  # Debian's packages
    present: Callable[[], bool]

    @property
    def fix(self) -> str:
        return "sudo apt-get install -y " + " ".join(self.apt)

    @property
    def missing(self) -> str:
        return f"{self.what} not installed; `{self.fix}` installs it"


NEEDS = (
    Need(
        "postgres",
        "PostgreSQL (sessions and the MLflow contract on PostgreSQL)",
        ("postgresql",),
        lambda: postgres_binaries() is not None,
    ),
    Need(
        "redis",
        "Redis (rate limits shared by replicas)",
        ("redis-server",),
        lambda: shutil.which("redis-server") is not None,
    ),
    Need(
        "browser",
        "Chromium (the web page in a real browser)",
        ("chromium",),
        lambda: shutil.which("chromium") is not None,
    ),
)
# Building llama-server for the real-model tier, when it is not cached yet.
COMPILER = Need(
    "real_model",
    "cmake and a C++ compiler (to build llama-server once)",
    ("cmake", "g++"),
    lambda: shutil.which("cmake") is not None and shutil.which("c++") is not None,
)


def need(marker: str) -> Need:
    return next(n for n in NEEDS if n.marker == marker)
