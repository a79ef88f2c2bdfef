"""Sample documents a reader would bring: a PDF, an HTML page and a Word file on tidal power,
made on the spot (fpdf2, python-docx), for the tests and the research benchmark."""

from __future__ import annotations

from pathlib import Path

import docx
from fpdf import FPDF

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
