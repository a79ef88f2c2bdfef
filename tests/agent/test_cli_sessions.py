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
