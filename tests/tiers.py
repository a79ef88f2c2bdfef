"""`make test`: the whole suite, tier by tier, on whatever machine it finds.

It first installs the system packages the tests need when the machine lacks them and it can
(apt, as root); then runs each tier and prints its time; a failed tier does not stop the ones
after it. It ends with one line per tier: passed, failed, or skipped with the reason and the
command that fixes it. A missing package skips its tests, never fails the run.

    uv run python -m tests.tiers                 # every tier
    uv run python -m tests.tiers offline eval    # some of them

TEST_WORKERS sets pytest-xdist's processes for the offline tier (default: one more than the
cores, for the time each spends waiting on the servers it starts; more only adds load).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from testbed.system import COMPILER, NEEDS, Need

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the project's environment: `uv run` put us in it


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def workers() -> str:
    return os.environ.get("TEST_WORKERS") or str((os.cpu_count() or 1) + 1)


@dataclass
class Tier:
    name: str
    commands: list[list[str]]
    what: str
    status: str = "not run"
    seconds: int = 0
    notes: list[str] = field(default_factory=list)


def llama_cached() -> bool:
    from tests.real_model import llama

    version = llama.SERVER_SDIST[1]
    return (llama.CACHE / f"llama-server-{version}" / "llama-server").exists()


def install(needs: list[Need]) -> list[str]:
    """Installs the missing packages with apt when this process may; what it could not."""
    packages = [p for need in needs for p in need.apt]
    if not packages:
        return []
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return ["not root, or no apt-get: install them yourself"]
    print(f"== installing {' '.join(packages)} (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        if subprocess.run(command, env=env).returncode:
            return [f"`{' '.join(command)}` failed"]
    return []


def tiers() -> list[Tier]:
    pytest = python("-m", "pytest", "-p", "no:cacheprovider")
    return [
        Tier(
            "lint",
            [
                python("-m", "ruff", "check", "."),
                python("-m", "ruff", "format", "--check", "."),
                [str(BIN / "lint-imports")],
                python("-m", "mypy"),
            ],
            "ruff, the import contracts, mypy",
        ),
        Tier(
            "offline",
            # A file's tests on one process: its module-scoped servers are started once, not
            # once per process that happens to get one of its tests.
            [[*pytest, "-n", workers(), "--dist", "loadfile"]],
            "every test on the offline model (MLflow, PostgreSQL, Redis, Chromium, uvicorn)",
        ),
        Tier(
            "real-model",
            [
                python("-m", "tests.real_model.llama", "build"),
                [*pytest, "-m", "real_model", "tests/real_model", "-v"],
            ],
            "articles through the API on llama.cpp and SmolLM2-135M",
        ),
        Tier("eval", [python("-m", "cli", "eval")], "the golden set against the bars"),
    ]


def run(tier: Tier) -> None:
    started = time.monotonic()
    print(f"== {tier.name}: {tier.what}", flush=True)
    tier.status = "passed"
    for command in tier.commands:
        code = subprocess.run(command, cwd=ROOT).returncode
        if code:
            said = " ".join(Path(part).name if n == 0 else part for n, part in enumerate(command))
            tier.status = f"failed (exit {code}: {said[:80]})"
            break
    tier.seconds = round(time.monotonic() - started)
    print(f"== {tier.name}: {tier.seconds} s ({tier.status})", flush=True)


def main() -> int:
    chosen = [t.name for t in tiers()]
    parser = argparse.ArgumentParser(prog="python -m tests.tiers")
    # No `choices`: argparse (3.11) checks the empty default against them too, and refuses it.
    parser.add_argument("only", nargs="*", help=f"tiers to run: {', '.join(chosen)} (all)")
    names = parser.parse_args().only or chosen
    if unknown := set(names) - set(chosen):
        parser.error(f"no tier {', '.join(sorted(unknown))}; the tiers are {', '.join(chosen)}")
    plan = [t for t in tiers() if t.name in names]
    started = time.monotonic()

    wanted = list(NEEDS) if "offline" in names else []
    if "real-model" in names and not llama_cached():
        wanted.append(COMPILER)
    missing = [need for need in wanted if not need.present()]
    problems = install(missing)
    still = [need for need in missing if not need.present()]

    for tier in plan:
        if tier.name == "real-model" and COMPILER in still:
            tier.status = f"skipped: {COMPILER.missing}"
            print(f"== {tier.name}: {tier.status}", flush=True)
            continue
        run(tier)
        if tier.name == "offline":
            tier.notes = [f"{n.marker} tests skipped: {n.missing}" for n in still if n in NEEDS]

    print(f"\n== summary ({round(time.monotonic() - started)} s)")
    for tier in plan:
        took = f"{tier.seconds} s, " if tier.seconds else ""
        print(f"  {tier.name}: {took}{tier.status}")
        for note in tier.notes:
            print(f"    {note}")
    for problem in problems:
        print(f"  system packages: {problem}")
    return 1 if any(t.status.startswith("failed") for t in plan) else 0


if __name__ == "__main__":
    sys.exit(main())
