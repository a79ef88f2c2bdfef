"""API keys in process: the start-up warning of an open API on a public address, and the key
ring the app is made with (the routes' answers are tests/api/security/test_auth.py's, over HTTP)."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.security import keys
from tests.api.inprocess.harness import Serve

WARNING = "API_KEYS is not set and the API listens on"


@pytest.mark.parametrize(
    ("host", "with_keys", "warned"),
    [
        ("0.0.0.0", False, True),
        ("10.1.2.3", False, True),
        ("api.example.internal", False, True),  # a name: reachable wherever it resolves
        ("127.0.0.1", False, False),
        ("::1", False, False),
        ("localhost", False, False),
        ("0.0.0.0", True, False),
    ],
)
async def test_an_open_api_on_a_public_address_warns_at_start(
    serve: Serve, caplog: pytest.LogCaptureFixture, host: str, with_keys: bool, warned: bool
) -> None:
    entry = keys.entry("ada", keys.new_key()) if with_keys else None
    await serve(api_host=host, api_keys=entry)
    assert (WARNING in caplog.text) is warned


async def test_a_missing_key_file_stops_the_start(serve: Serve, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await serve(api_keys_file=tmp_path / "no-such-file")


async def test_with_keys_the_aliases_need_one_and_the_page_does_not(serve: Serve) -> None:
    key = keys.new_key()
    served = await serve(api_keys=keys.entry("ada", key))
    assert (await served.client.get("/prompts/aliases")).status_code == 401
    aliases = await served.client.get(
        "/prompts/aliases", headers={"Authorization": f"Bearer {key}"}
    )
    assert aliases.status_code == 200
    assert (await served.client.get("/")).status_code == 200
