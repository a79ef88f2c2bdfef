"""finalize: the article as the API returns it, citations numbered in order of appearance."""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from agent import citations
from agent.context import WriterContext
from agent.state import Article, ArticleSection, ArticleState, Reference, Source
from agent.tracing import traced_node


@traced_node("finalize")
async def finalize(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    return {"article": assemble(state["draft"], state.get("sources") or [], state["outline"].title)}


def assemble(draft: str, sources: list[Source], fallback_title: str) -> Article:
    # Renumber: the first source cited becomes [1]; numbers naming no source are dropped.
    order = [n for n in citations.cited(draft) if 1 <= n <= len(sources)]
    renumber = {old: new for new, old in enumerate(order, 1)}

    def swap(match: re.Match[str]) -> str:
        new = renumber.get(int(match.group(1)))
        return f"[{new}]" if new else ""

    markdown = citations.tidy(citations.CITATION.sub(swap, draft)).strip()
    title = fallback_title
    if found := re.match(r"^# (.+)$", markdown, re.M):
        title = found.group(1).strip()
    sections = [
        ArticleSection(heading=heading.strip(), markdown=body.strip())
        for heading, body in re.findall(r"^## ([^\n]+)\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    ]
    references = [
        Reference(n=new, source_id=sources[old - 1].id, title=sources[old - 1].title)
        for old, new in renumber.items()
    ]
    return Article(
        title=title,
        markdown=markdown,
        sections=sections,
        references=references,
        word_count=citations.count_words(markdown),
    )
