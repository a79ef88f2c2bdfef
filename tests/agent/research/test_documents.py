"""The reader's own files as sources: PDF, HTML and Word converted, bad files skipped with a
reason, nothing outside the folder read, converted files cached by content."""

from __future__ import annotations

import os
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from agent.research.sources import Reading, SourceLibrary

BARRAGE = (
    "A tidal barrage holds the sea behind a dam at high tide and lets it out through "
    "turbines as the tide falls. The La Rance barrage in Brittany has run since 1966."
)
LAGOON = "A tidal lagoon encloses a bay with a wall, and generates on both tides."
STREAM = (
    "Tidal stream turbines stand on the seabed like underwater wind turbines and turn in "
    "the currents of narrow straits."
)
MEYGEN = "The MeyGen array in the Pentland Firth fed its first tidal power to the grid in 2016."
COSTS = "Tidal power is predictable years ahead, but its turbines cost more than wind's."
ECOLOGY = "Tidal barrages change the mudflats behind them, where wading birds feed."


def pdf(path: Path, *lines: str) -> Path:
    document = FPDF()
    document.add_page()
    document.set_font("Helvetica", size=12)
    for line in lines:
        document.multi_cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
        document.ln(4)
    document.output(str(path))
    return path


def tidal_folder(folder: Path) -> Path:
    """A PDF, an HTML page and a Word file on one subject, as a reader would bring them."""
    folder.mkdir(exist_ok=True)
    pdf(folder / "barrages.pdf", "Tidal Barrages", BARRAGE, LAGOON)
    (folder / "streams.html").write_text(
        "<html><head><title>Tidal Stream Turbines</title><script>alert('x')</script></head>"
        f"<body><h1>Tidal Stream Turbines</h1><h2>How they work</h2><p>{STREAM}</p>"
        f"<h2>Arrays at sea</h2><p>{MEYGEN}</p></body></html>"
    )
    word = docx.Document()
    word.add_heading("Tidal Power Costs and Effects", 1)
    word.add_heading("Costs", 2)
    word.add_paragraph(COSTS)
    word.add_heading("Effects on wildlife", 2)
    word.add_paragraph(ECOLOGY)
    word.save(str(folder / "costs.docx"))
    return folder


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
