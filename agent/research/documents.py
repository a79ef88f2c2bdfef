"""The reader's files as Markdown: what the source library indexes, and what it could not read.

Markdown and text are read as they are. PDF, HTML and Word files go through markitdown's own
converter for their format (chosen by the file's extension, so a damaged PDF is reported as
one rather than read as text), in a child process (`python -m agent.research.documents`) with a time
bound per file, since a hostile or broken file can make a parser spin: one that does not
answer in time is killed, and the next file gets a new one. Each file's Markdown is cached
under its content's SHA-256, so a folder is converted once and a changed file again. A PDF
has no Markdown headings: its first line, when it reads like a title, becomes its title.

A file is skipped, with a reason the reader sees in `writer sources` and in the no-sources
answer, when it is larger than the size bound, is a link that leads out of the folder, is a
PDF that is encrypted or damaged, has no text (a scanned PDF), or took too long to convert.
Nothing outside the folder is read.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

TEXT = {".md", ".markdown", ".txt"}
CONVERTED = {".pdf", ".html", ".htm", ".docx"}
SUFFIXES = TEXT | CONVERTED
# Bump when what a conversion produces changes, so cached Markdown is converted again.
CONVERSION = "markitdown-2"
FORMATS = {".pdf": "PDF", ".html": "HTML", ".htm": "HTML", ".docx": "Word"}
TITLE_WORDS = 12  # a PDF's first line no longer than this, and with no closing stop, is its title


@dataclass(frozen=True)
class File:
    """A file of the folder as Markdown, ready to be cut into passages."""

    path: Path  # inside the folder
    markdown: str
    title: str | None  # what the converter found (an HTML <title>), if anything


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str


def files(folder: Path) -> Iterator[Path]:
    """The folder's files of a kind the library reads, in a stable order (README.md aside)."""
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in SUFFIXES and path.name.lower() != "readme.md":
            yield path


def fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a file of the folder is added, removed or written."""
    found = []
    for path in files(folder):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((path.as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


class Reader:
    """Reads the files of one folder; converts in a child process it starts on first need."""

    def __init__(
        self, folder: Path, cache: Path | None, max_bytes: int, timeout_seconds: float
    ) -> None:
        self.folder = folder.resolve()
        self.cache = cache
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds
        self._converter: Converter | None = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *_: object) -> None:
        if self._converter is not None:
            self._converter.close()
            self._converter = None

    def read(self, path: Path) -> File | Skipped:
        shown = path.relative_to(self.folder) if path.is_relative_to(self.folder) else path
        real = path.resolve()
        if not real.is_relative_to(self.folder):
            return Skipped(shown, "a link that leads out of the folder: not read")
        try:
            size = real.stat().st_size
            if size > self.max_bytes:
                return Skipped(
                    shown,
                    f"{size / 1e6:.1f} MB, over the bound of {self.max_bytes / 1e6:g} MB "
                    "(SOURCE_MAX_FILE_MB)",
                )
            content = real.read_bytes()
        except OSError as exc:
            return Skipped(shown, f"could not be read ({exc.strerror or 'I/O error'})")
        suffix = path.suffix.lower()
        if suffix in TEXT:
            return File(shown, content.decode("utf-8", errors="replace"), None)
        return self._converted(shown, suffix, content)

    def _converted(self, shown: Path, suffix: str, content: bytes) -> File | Skipped:
        key = hashlib.sha256(content).hexdigest()
        cached = self._cached(key)
        if cached is None:
            if self._converter is None:
                self._converter = Converter()
            cached = self._converter.convert(suffix, content, self.timeout_seconds)
            if cached.get("keep", True):
                self._store(key, cached)
        if "reason" in cached:
            return Skipped(shown, str(cached["reason"]))
        title = cached.get("title")
        return File(shown, str(cached["markdown"]), str(title) if title else None)

    def _cached(self, key: str) -> dict[str, Any] | None:
        if self.cache is None:
            return None
        try:
            found = json.loads((self.cache / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None
        return found if found.get("conversion") == CONVERSION else None

    def _store(self, key: str, result: dict[str, Any]) -> None:
        if self.cache is None:
            return
        try:
            self.cache.mkdir(parents=True, exist_ok=True)
            partial = self.cache / f"{key}.{os.getpid()}.tmp"
            partial.write_text(json.dumps({**result, "conversion": CONVERSION}))
            partial.replace(self.cache / f"{key}.json")  # whole or not at all
        except OSError:
            pass  # a cache that cannot be written only costs a conversion next time


class Converter:
    """A child process that converts one file at a time: a header line (its suffix and size),
    then its bytes, in; one JSON line out. Killed when a file takes longer than its bound."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._answers: queue.Queue[bytes] = queue.Queue()

    def convert(self, suffix: str, content: bytes, timeout_seconds: float) -> dict[str, Any]:
        process = self._started()
        assert process.stdin is not None
        try:
            header = json.dumps({"suffix": suffix, "size": len(content)}).encode()
            process.stdin.write(header + b"\n" + content)
            process.stdin.flush()
            line = self._answers.get(timeout=timeout_seconds)
            if not line:  # the child ended (a converter crashed it)
                raise BrokenPipeError
            answer: dict[str, Any] = json.loads(line)
            return answer
        except queue.Empty:
            self.close()
            return {
                "reason": f"took longer than {timeout_seconds:g} s to convert: skipped "
                "(SOURCE_CONVERT_TIMEOUT_SECONDS)",
                "keep": False,  # the machine may have been busy: try again next time
            }
        except (BrokenPipeError, OSError, ValueError):
            self.close()
            return {"reason": "its converter failed on it: skipped", "keep": False}

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "agent.research.documents"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            self._answers = queue.Queue()
            threading.Thread(
                target=_forward, args=(self._process.stdout, self._answers), daemon=True
            ).start()
        return self._process

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def _forward(stream: IO[bytes], answers: queue.Queue[bytes]) -> None:
    for line in stream:
        answers.put(line)
    answers.put(b"")  # the child ended


def serve() -> None:
    """The child's side of `Converter`: convert each file sent, until stdin closes."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while header := source.readline():
        asked = json.loads(header)
        content = source.read(int(asked["size"]))
        sink.write(json.dumps(convert(str(asked["suffix"]), content)).encode() + b"\n")
        sink.flush()


def convert(suffix: str, content: bytes) -> dict[str, object]:
    """One file's Markdown by markitdown's converter for its format, or why there is none.
    Runs in the child process."""
    import io

    from markitdown import StreamInfo
    from markitdown.converters import DocxConverter, HtmlConverter, PdfConverter

    converter = {".pdf": PdfConverter, ".docx": DocxConverter}.get(suffix, HtmlConverter)()
    kind = FORMATS[suffix]
    try:
        result = converter.convert(io.BytesIO(content), StreamInfo(extension=suffix))
    except Exception as exc:
        name = type(exc).__name__
        if "password" in name.lower() or "encrypt" in f"{name} {exc}".lower():
            return {"reason": f"an encrypted {kind} file: it needs a password, so it was skipped"}
        return {"reason": f"not a readable {kind} file ({name}): skipped"}
    markdown = result.markdown.strip()
    if not markdown:
        scanned = " (a scanned PDF, perhaps: only its images hold the text)" * (suffix == ".pdf")
        return {"reason": f"no text in it{scanned}: skipped"}
    first, _, rest = markdown.partition("\n")
    if suffix == ".pdf" and _reads_like_a_title(first):
        markdown = f"# {first.strip()}\n{rest}"
    return {"markdown": markdown, "title": result.title}


def _reads_like_a_title(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= TITLE_WORDS and not line.rstrip().endswith((".", ",", ";", ":"))


if __name__ == "__main__":
    serve()
