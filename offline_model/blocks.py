"""Reading back the tagged blocks the app writes into its prompts (`agent.prompts.blocks`).

Only the tags, their attributes and their bodies count: a block is found wherever it stands in
the system and user text, so rewording a prompt's prose changes nothing the model reads.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from agent.research.sources import Passage

ATTRIBUTE = re.compile(r'([A-Za-z_][\w-]*)="([^"]*)"')


@dataclass(frozen=True)
class Block:
    attributes: dict[str, str]
    body: str

    def number(self, name: str, default: int) -> int:
        value = self.attributes.get(name, "")
        return int(value) if value.isdigit() else default


@dataclass(frozen=True)
class Source:
    n: int
    title: str
    source_id: str
    passages: list[Passage]


def find(text: str, tag: str) -> Block | None:
    """The first `<tag ...>` ... `</tag>` block of `text`, if there is one."""
    pattern = rf"<{re.escape(tag)}((?:\s[^>]*)?)>(.*?)</{re.escape(tag)}>"
    found = re.search(pattern, text, re.S)
    if found is None:
        return None
    attributes = {name: html.unescape(value) for name, value in ATTRIBUTE.findall(found.group(1))}
    return Block(attributes, found.group(2).strip("\n"))


def parse_background(body: str) -> list[Passage]:
    pattern = re.compile(r"^- \[([^\]]+)\] (.+?) / (.+?): (.+)$", re.M)
    return [
        Passage(source_id=m[1], title=m[2], section=m[3], text=m[4]) for m in pattern.finditer(body)
    ]


def parse_outline(body: str) -> list[tuple[str, str]]:
    pattern = re.compile(r"^\d+\. (.+?): (.+)$", re.M)
    return [(m.group(1), m.group(2)) for m in pattern.finditer(body)]


def parse_list(body: str) -> list[str]:
    return [line[2:].strip() for line in body.splitlines() if line.startswith("- ")]


def parse_sources(body: str) -> list[Source]:
    sources: list[Source] = []
    for chunk in re.split(r"\n\s*\n", body.strip()):
        head, *rest = chunk.splitlines() or [""]
        found = re.match(r"^\[(\d+)\] (.+) \(([^()]+)\)$", head.strip())
        if not found:
            continue
        n, title, source_id = int(found.group(1)), found.group(2), found.group(3)
        passages = []
        for line in rest:
            section, sep, text = line.strip().partition(": ")
            if sep:
                passages.append(
                    Passage(source_id=source_id, title=title, section=section, text=text)
                )
        sources.append(Source(n, title, source_id, passages))
    return sources
