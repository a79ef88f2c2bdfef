"""The text blocks that the prompts carry (outline, sources, background), written and read back.

The nodes write these blocks into prompt variables; the offline model reads them back, as a
model reads its prompt. Keeping both directions here keeps them in step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from agent.sources import Hit
from agent.state import Outline, Source


@dataclass(frozen=True)
class BriefPassage:
    source_id: str
    title: str
    section: str
    text: str


@dataclass(frozen=True)
class BriefSource:
    n: int
    title: str
    source_id: str
    passages: list[BriefPassage]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def background_block(hits: Iterable[Hit]) -> str:
    lines = [
        f"- [{h.passage.source_id}] {h.passage.title} / {h.passage.section}: "
        f"{_one_line(h.passage.text)}"
        for h in hits
    ]
    return "\n".join(lines) or "(no passages found)"


def outline_block(outline: Outline) -> str:
    return "\n".join(f"{i}. {s.heading}: {s.question}" for i, s in enumerate(outline.sections, 1))


def list_block(items: Iterable[str]) -> str:
    return "\n".join(f"- {_one_line(item)}" for item in items)


def sources_block(sources: list[Source]) -> str:
    blocks = []
    for n, source in enumerate(sources, 1):
        lines = [f"[{n}] {source.title} ({source.id})"]
        lines += [f"    {p.section}: {_one_line(p.text)}" for p in source.passages]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "(no sources)"


# --- reading them back ---------------------------------------------------------------------


def block(prompt: str, label: str) -> str | None:
    """The text under `Label:` up to the next `Other label:` line or the end."""
    found = re.search(
        rf"^{re.escape(label)}:\n(.*?)(?=\n\n[A-Z][A-Za-z ]*:\n|\Z)", prompt, re.M | re.S
    )
    return found.group(1).strip() if found else None


def field(prompt: str, label: str) -> str | None:
    found = re.search(rf"^{re.escape(label)}: (.+)$", prompt, re.M)
    return found.group(1).strip() if found else None


def parse_background(text: str) -> list[BriefPassage]:
    pattern = re.compile(r"^- \[([^\]]+)\] (.+?) / (.+?): (.+)$", re.M)
    return [BriefPassage(*m.groups()) for m in pattern.finditer(text)]


def parse_outline(text: str) -> list[tuple[str, str]]:
    pattern = re.compile(r"^\d+\. (.+?): (.+)$", re.M)
    return [(m.group(1), m.group(2)) for m in pattern.finditer(text)]


def parse_list(text: str) -> list[str]:
    return [line[2:].strip() for line in text.splitlines() if line.startswith("- ")]


def parse_sources(text: str) -> list[BriefSource]:
    sources: list[BriefSource] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        head, *rest = chunk.splitlines()
        found = re.match(r"^\[(\d+)\] (.+) \(([^()]+)\)$", head.strip())
        if not found:
            continue
        n, title, source_id = int(found.group(1)), found.group(2), found.group(3)
        passages = []
        for line in rest:
            section, sep, body = line.strip().partition(": ")
            if sep:
                passages.append(BriefPassage(source_id, title, section, body))
        sources.append(BriefSource(n, title, source_id, passages))
    return sources
