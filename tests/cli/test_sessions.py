"""`writer write --session` and `writer session`: a session kept across processes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.servers import writer_cli


def test_a_session_written_in_one_process_is_read_and_continued_in_the_next(
    tmp_path: Path,
) -> None:
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/cli.db", "TRACING_ENABLED": "false"}
    first = writer_cli(
        "write", "Coral reefs", "--session", "s-cli", "--user", "ada", "--json", cwd=tmp_path, **env
    )
    assert first.returncode == 0, first.stderr[-2000:]
    assert json.loads(first.stdout)["turn"] == 1
    second = writer_cli(
        "write", "Honeybees", "--session", "s-cli", "--user", "ada", cwd=tmp_path, **env
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Session: s-cli, turn 2" in second.stderr

    shown = writer_cli("session", "s-cli", "--user", "ada", "--json", cwd=tmp_path, **env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    view = json.loads(shown.stdout)
    assert [t["instruction"] for t in view["turns"]] == ["Coral reefs", "Honeybees"]
    assert view["article"]["title"] == view["turns"][-1]["title"]
    assert (tmp_path / ".data" / "sessions.db").exists()  # CHECKPOINT_URL's default

    table = writer_cli("session", "s-cli", "--user", "ada", cwd=tmp_path, **env)
    assert "  2. " in table.stdout and "'Honeybees' -> " in table.stdout
    other = writer_cli("session", "s-cli", "--user", "mallory", cwd=tmp_path, **env)
    assert other.returncode == 1 and "no session 's-cli' for user 'mallory'" in other.stderr


def test_a_one_off_article_leaves_no_session_behind(tmp_path: Path) -> None:
    done = writer_cli(
        "write", "Coral reefs", cwd=tmp_path, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/c.db"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / ".data").exists()


def test_a_malformed_session_id_is_refused(tmp_path: Path) -> None:
    done = writer_cli("write", "Coral reefs", "--session", "not ok", cwd=tmp_path)
    assert done.returncode == 2 and "--session: Use 1-128 letters" in done.stderr


def test_writer_revise_changes_the_sessions_article_as_a_new_turn(tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/cli.db", "TRACING_ENABLED": "false"}
    first = writer_cli(
        "write", "Solar power", "--session", "s-rev", "--user", "ada", "--json", cwd=tmp_path, **env
    )
    assert first.returncode == 0, first.stderr[-2000:]
    words = json.loads(first.stdout)["article"]["word_count"]
    shorter = writer_cli(
        "revise", "s-rev", "make it shorter", "--user", "ada", "--json", cwd=tmp_path, **env
    )
    assert shorter.returncode == 0, shorter.stderr[-2000:]
    body = json.loads(shorter.stdout)
    assert body["turn"] == 2 and body["article"]["word_count"] < words
    assert "Revising: 'make it shorter'" in shorter.stderr

    poem = writer_cli("revise", "s-rev", "write me a poem", "--user", "ada", cwd=tmp_path, **env)
    assert poem.returncode == 1 and "error: unrevisable: " in poem.stderr
    assert "shorten or lengthen" in poem.stderr
    nobody = writer_cli("revise", "s-rev", "shorter", "--user", "mallory", cwd=tmp_path, **env)
    assert nobody.returncode == 1 and "error: unknown_session" in nobody.stderr
    empty = writer_cli("revise", "s-rev", " ", cwd=tmp_path, **env)
    assert empty.returncode == 2 and "the instruction must be 3 to 500 characters" in empty.stderr
