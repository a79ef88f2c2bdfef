"""`writer write --session`, `writer revise` and `writer session`: a session kept across
processes. Each command that runs an article is a process of its own, as a user's is; the
refusals made before anything runs are checked in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import main
from testbed.servers import writer_cli


def test_a_session_is_written_revised_and_read_across_processes(tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/cli.db", "TRACING_ENABLED": "false"}
    as_ada = ("--user", "ada")
    first = writer_cli(
        "write", "Coral reefs", "--session", "s-cli", *as_ada, "--json", cwd=tmp_path, **env
    )
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads(first.stdout)["turn"] == 1
    second = writer_cli(
        "write", "Solar power", "--session", "s-cli", *as_ada, "--json", cwd=tmp_path, **env
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Session: s-cli, turn 2" in second.stderr
    words = json.loads(second.stdout)["article"]["word_count"]

    shorter = writer_cli(
        "revise", "s-cli", "make it shorter", *as_ada, "--json", cwd=tmp_path, **env
    )
    assert shorter.returncode == 0, shorter.stderr[-2000:]
    body = json.loads(shorter.stdout)
    assert body["turn"] == 3 and body["article"]["word_count"] < words
    assert "Revising: 'make it shorter'" in shorter.stderr

    shown = writer_cli("session", "s-cli", *as_ada, "--json", cwd=tmp_path, **env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    view = json.loads(shown.stdout)
    instructions = [t["instruction"] for t in view["turns"]]
    assert instructions == ["Coral reefs", "Solar power", "make it shorter"]
    assert view["article"]["title"] == view["turns"][-1]["title"]
    assert (tmp_path / ".data" / "sessions.db").exists()  # CHECKPOINT_URL's default

    poem = writer_cli("revise", "s-cli", "write me a poem", *as_ada, cwd=tmp_path, **env)
    assert poem.returncode == 1 and "error: unrevisable: " in poem.stderr
    assert "shorten or lengthen" in poem.stderr
    nobody = writer_cli("revise", "s-cli", "shorter", "--user", "mallory", cwd=tmp_path, **env)
    assert nobody.returncode == 1 and "error: unknown_session" in nobody.stderr

    table = writer_cli("session", "s-cli", *as_ada, cwd=tmp_path, **env)
    assert "  2. " in table.stdout and "'Solar power' -> " in table.stdout
    other = writer_cli("session", "s-cli", "--user", "mallory", cwd=tmp_path, **env)
    assert other.returncode == 1 and "no session 's-cli' for user 'mallory'" in other.stderr


def test_a_one_off_article_leaves_no_session_behind(tmp_path: Path) -> None:
    done = writer_cli(
        "write", "Coral reefs", cwd=tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/c.db"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / ".data").exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["write", "Coral reefs", "--session", "not ok"], "--session: Use 1-128 letters"),
        (["revise", "s-rev", " "], "the instruction must be 3 to 500 characters"),
    ],
    ids=["malformed-session-id", "empty-instruction"],
)
def test_a_malformed_argument_is_refused_before_anything_runs(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2 and said in capsys.readouterr().err
