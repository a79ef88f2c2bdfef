"""API keys (api/security/keys.py): entries, the key ring and its file, and `writer keys new`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.security import keys
from cli.settings import Settings
from testbed.servers import writer_cli

ADA, CI = keys.new_key(), keys.new_key()


def test_a_new_key_is_long_random_and_shaped_for_the_masker() -> None:
    made = {keys.new_key() for _ in range(50)}
    assert len(made) == 50
    for key in made:
        assert keys.KEY_PATTERN.fullmatch(key) and len(key) == 47


def test_entries_come_by_commas_or_lines_with_comments() -> None:
    text = f"# the team\n{keys.entry('ada', ADA)}, {keys.entry('ci', CI)}  # the pipeline\n\n"
    assert keys.parse(text, "API_KEYS") == {keys.digest(ADA): "ada", keys.digest(CI): "ci"}


def test_one_name_may_hold_two_keys_while_one_is_rotated() -> None:
    found = keys.parse(f"{keys.entry('ada', ADA)},{keys.entry('ada', CI)}", "API_KEYS")
    assert set(found.values()) == {"ada"} and len(found) == 2


@pytest.mark.parametrize(
    "text",
    [
        "ada",  # no digest
        f"ada:{ADA}",  # the key itself, not its digest
        "ada:1234",  # too short a digest
        f"a b:{keys.digest(ADA)}",  # a name no trace can carry
        f":{keys.digest(ADA)}",
    ],
    # Ids that do not hold the random key: each test process must collect the same tests.
    ids=["no-digest", "the-key-itself", "short-digest", "space-in-name", "no-name"],
)
def test_a_malformed_entry_is_named_with_what_to_write(text: str) -> None:
    with pytest.raises(keys.KeyFileError, match=r"API_KEYS, entry 1: write name:<sha256"):
        keys.parse(text, "API_KEYS")


def test_one_key_under_two_names_is_refused() -> None:
    with pytest.raises(keys.KeyFileError, match="entry 2: the same key is already named 'ada'"):
        keys.parse(f"{keys.entry('ada', ADA)}\n{keys.entry('bob', ADA)}", "API_KEYS_FILE")


def test_a_malformed_setting_stops_the_start() -> None:
    with pytest.raises(ValidationError, match="API_KEYS, entry 2"):
        Settings(api_keys=f"{keys.entry('ada', ADA)},nonsense")  # type: ignore[arg-type]


def test_the_ring_knows_its_keys_and_nothing_else() -> None:
    ring = keys.KeyRing(keys.entry("ada", ADA))
    assert ring.enabled
    assert ring.name_of(ADA) == "ada"
    assert ring.name_of(CI) is None
    assert ring.name_of(ADA + "x") is None
    assert ring.name_of("") is None
    assert not keys.KeyRing().enabled


def _rewrite(path: Path, text: str) -> None:
    # A new size or mtime is how the ring sees the change; the clock may not have moved.
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_a_key_removed_from_the_file_is_refused_at_once(tmp_path: Path) -> None:
    file = tmp_path / "keys"
    file.write_text(f"{keys.entry('ada', ADA)}\n{keys.entry('ci', CI)}\n")
    ring = keys.KeyRing(file=file)
    assert ring.name_of(CI) == "ci"
    _rewrite(file, f"{keys.entry('ada', ADA)}\n# ci revoked\n")
    assert ring.name_of(CI) is None
    assert ring.name_of(ADA) == "ada"


def test_a_broken_file_lets_no_key_in_until_it_is_fixed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = tmp_path / "keys"
    good = f"{keys.entry('ada', ADA)}\n"
    file.write_text(good)
    ring = keys.KeyRing(file=file)
    _rewrite(file, good + "half an entry:\n")
    assert ring.name_of(ADA) is None
    assert "no key of API_KEYS_FILE is accepted until it is fixed" in caplog.text
    assert ADA not in caplog.text
    _rewrite(file, good)
    assert ring.name_of(ADA) == "ada"
    file.unlink()
    assert ring.name_of(ADA) is None
    assert ring.enabled  # a missing file does not open the API


def test_a_missing_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        keys.KeyRing(file=tmp_path / "absent")


def test_the_cli_prints_a_key_and_the_entry_that_lets_it_in(tmp_path: Path) -> None:
    done = writer_cli("keys", "new", "ci-bot", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()  # the key alone on stdout, for `> ci.key`
    assert keys.KEY_PATTERN.fullmatch(key)
    assert f"ci-bot:{keys.digest(key)}" in done.stderr
    assert key not in done.stderr
    assert keys.parse(f"ci-bot:{keys.digest(key)}", "API_KEYS") == {keys.digest(key): "ci-bot"}


def test_the_cli_refuses_a_name_no_trace_can_carry(tmp_path: Path) -> None:
    done = writer_cli("keys", "new", "ada lovelace", cwd=tmp_path)
    assert done.returncode == 2
    assert "a key's name is 1-64 letters" in done.stderr
    assert done.stdout == ""
