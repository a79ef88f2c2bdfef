"""The reader's own files as sources: PDF, HTML and Word converted, bad files skipped with a
reason, nothing outside the folder read, converted files cached by content."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from agent.research.sources import Reading, SourceLibrary
from testbed.documents import pdf, tidal_folder


def read(folder: Path, tmp_path: Path, **bounds: float) -> SourceLibrary:
    return SourceLibrary(folder, "documents", Reading(tmp_path / "cache", **bounds))  # type: ignore[arg-type]


def test_pdf_html_and_word_files_become_searchable_documents(tmp_path: Path) -> None:
    library = read(tidal_folder(tmp_path / "docs"), tmp_path)
    assert set(library.documents) == {"barrages", "streams", "costs"}
    assert library.documents["streams"].title == "Tidal Stream Turbines"
    assert library.documents["costs"].title == "Tidal Power Costs and Effects"
    assert library.documents["barrages"].title == "Tidal Barrages"  # a PDF's first line
    text = " ".join(p.text for p in library.documents["barrages"].passages)
    assert "La Rance" in text and "1966" in text
    streams = " ".join(p.text for p in library.documents["streams"].passages)
    assert "alert" not in streams and "<" not in streams  # the page's script is not text
    hit = library.search("tidal barrage Brittany", 1)[0].passage
    assert (hit.source_id, hit.origin, hit.location) == ("barrages", "documents", "barrages.pdf")
    assert not library.skipped


def test_files_that_cannot_be_read_are_skipped_with_a_reason(tmp_path: Path) -> None:
    folder = tidal_folder(tmp_path / "docs")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF at all")
    (folder / "broken.docx").write_bytes(b"not a zip archive")
    scanned = FPDF()  # a page with a picture of text: nothing to extract
    scanned.add_page()
    scanned.rect(20, 20, 100, 40, style="F")
    scanned.output(str(folder / "scanned.pdf"))
    locked = PdfWriter(clone_from=PdfReader(folder / "barrages.pdf"))
    locked.encrypt("secret")
    locked.write(folder / "locked.pdf")
    (folder / "huge.txt").write_text("tidal " * 400_000)  # 2.4 MB
    outside = tmp_path / "private.md"
    outside.write_text("# Private\n\nNot for the library.")
    os.symlink(outside, folder / "link.md")

    library = read(folder, tmp_path, max_file_bytes=1_000_000)

    reasons = {s.path.as_posix(): s.reason for s in library.skipped}
    assert set(reasons) == {
        "broken.pdf",
        "broken.docx",
        "scanned.pdf",
        "locked.pdf",
        "huge.txt",
        "link.md",
    }
    assert "not a readable PDF file" in reasons["broken.pdf"]
    assert "not a readable Word file" in reasons["broken.docx"]
    assert "no text" in reasons["scanned.pdf"] and "scanned" in reasons["scanned.pdf"]
    assert "encrypted" in reasons["locked.pdf"]
    assert "over the bound" in reasons["huge.txt"] and "SOURCE_MAX_FILE_MB" in reasons["huge.txt"]
    assert "leads out of the folder" in reasons["link.md"]
    assert set(library.documents) == {"barrages", "streams", "costs"}  # the rest still read
    assert "Private" not in " ".join(d.title for d in library.documents.values())
    assert "could not be read" in library.describe()


def test_a_conversion_that_takes_too_long_is_skipped_not_waited_for(tmp_path: Path) -> None:
    folder = tidal_folder(tmp_path / "docs")
    (folder / "notes.md").write_text("# Notes\n\nTidal power is old.")
    library = read(folder, tmp_path, convert_timeout_seconds=0.001)
    assert set(library.documents) == {"notes"}
    assert all("took longer than" in s.reason for s in library.skipped)
    # Not remembered: a busy machine may convert it in time next time.
    assert not list((tmp_path / "cache").glob("*.json"))


def test_converted_files_are_cached_by_content_and_read_again_when_changed(
    tmp_path: Path,
) -> None:
    folder = tidal_folder(tmp_path / "docs")
    first = read(folder, tmp_path)
    cached = sorted((tmp_path / "cache").glob("*.json"))
    assert len(cached) == 3  # one per converted file, named by its content's hash
    assert first.refreshed() is first  # nothing changed: the same library

    pdf(folder / "barrages.pdf", "Tidal Barrages", "The Sihwa Lake barrage opened in 2011.")
    again = first.refreshed()
    assert again is not first
    text = " ".join(p.text for p in again.documents["barrages"].passages)
    assert "Sihwa" in text and "La Rance" not in text
    assert len(list((tmp_path / "cache").glob("*.json"))) == 4
    (folder / "costs.docx").unlink()
    assert "costs" not in again.refreshed().documents


@pytest.mark.parametrize("name", ["notes.md", "notes.txt"])
def test_markdown_and_text_are_read_as_they_are(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / name).write_text("# Tides\n\n## Why\n\nThe moon pulls the sea.")
    library = read(folder, tmp_path)
    (doc,) = library.documents.values()
    assert doc.title == "Tides" and [p.section for p in doc.passages] == ["Why"]
