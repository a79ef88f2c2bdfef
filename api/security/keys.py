"""API keys: named, kept only as SHA-256 digests, from the API_KEYS setting or a file.

A key is `awk_` and 43 URL-safe characters (32 random bytes, `writer keys new NAME`). That much
entropy is why a plain SHA-256 is enough: there is nothing to guess, as there is with a password,
so a slow hash would only slow every request. The prefix is how the span masker and the log
filter know a key wherever it turns up (a topic, a query string), without knowing the key.

Entries are `name:digest`, separated by commas (API_KEYS) or lines (API_KEYS_FILE, where `#`
starts a comment). One name may have several digests: a key being rotated. The file is read
again whenever it changes, so a key removed from it (revoked) stops working at once, without a
restart; a file that cannot be read or parsed lets none of its keys in until it is fixed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from pathlib import Path

from tracing.processors import API_KEY_PATTERN, API_KEY_PREFIX

log = logging.getLogger(__name__)

# A key's shape is the redactor's to know too: it blanks one wherever it turns up.
PREFIX, KEY_PATTERN = API_KEY_PREFIX, API_KEY_PATTERN
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._@\-]{1,64}$")  # a user id (service.request), minus ':'
DIGEST_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class KeyFileError(ValueError):
    """An API_KEYS entry that is not `name:<sha256 hex>`; the message says which and why."""


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def entry(name: str, key: str) -> str:
    """The line that lets `key` in as `name`: what API_KEYS and API_KEYS_FILE hold."""
    return f"{name}:{digest(key)}"


def parse(text: str, where: str) -> dict[str, str]:
    """Digest -> key name, from entries separated by commas or lines."""
    found: dict[str, str] = {}
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    entries = [part.strip() for line in lines for part in line.split(",") if part.strip()]
    for n, text_entry in enumerate(entries, 1):
        name, _, hashed = text_entry.rpartition(":")
        hashed = hashed.lower()
        if not NAME_PATTERN.match(name) or not DIGEST_PATTERN.match(hashed):
            raise KeyFileError(
                f"{where}, entry {n}: write name:<sha256 of the key> (a name of 1-64 letters, "
                "digits or . _ @ -), as `writer keys new NAME` prints it"
            )
        if found.get(hashed, name) != name:
            named = found[hashed]
            raise KeyFileError(f"{where}, entry {n}: the same key is already named {named!r}")
        found[hashed] = name
    return found


class KeyRing:
    """Who a presented key belongs to, if anyone; empty (and not `enabled`) when no key is set."""

    def __init__(self, inline: str | None = None, file: Path | None = None) -> None:
        self._inline = parse(inline, "API_KEYS") if inline else {}
        self._file = file
        self._file_keys: dict[str, str] = {}
        self._seen: tuple[int, int] | None = None
        if file is not None:
            self._file_keys = parse(file.read_text(), f"API_KEYS_FILE {file}")  # fails at start
            self._seen = self._stamp()

    @property
    def enabled(self) -> bool:
        return bool(self._inline) or self._file is not None

    def name_of(self, key: str) -> str | None:
        """The name of `key`, or None for a key that is unknown (never issued, or revoked)."""
        self._reload()
        hashed = digest(key)
        return self._inline.get(hashed) or self._file_keys.get(hashed)

    def _stamp(self) -> tuple[int, int] | None:
        assert self._file is not None
        try:
            stat = self._file.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _reload(self) -> None:
        if self._file is None or (stamp := self._stamp()) == self._seen:
            return
        self._seen = stamp
        try:
            self._file_keys = parse(self._file.read_text(), f"API_KEYS_FILE {self._file}")
        except (OSError, KeyFileError) as exc:
            # Closed rather than on the last good keys: a revoked key must not come back.
            self._file_keys = {}
            log.error("no key of API_KEYS_FILE is accepted until it is fixed: %s", exc)
        else:
            log.info("API_KEYS_FILE read again: %d keys", len(self._file_keys))
