"""The `writer` command line in this process, for the commands whose point is not a process of
their own: argument checks, `writer sources`. Each call reads a clean environment, as
`testbed.servers.writer_cli` gives a subprocess."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from cli import main
from testbed.servers import SCRUBBED, UNLIMITED


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Ran]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*args: str, **env: str) -> Ran:
        with monkeypatch.context() as scoped:
            for name in list(os.environ):
                if name.startswith(SCRUBBED):
                    scoped.delenv(name)
            for name, value in {**UNLIMITED, **env}.items():
                scoped.setenv(name, value)
            capsys.readouterr()
            try:
                code = main(list(args))
            except SystemExit as exited:  # argparse's refusals
                code = exited.code if isinstance(exited.code, int) else 1
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run
