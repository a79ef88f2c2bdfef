"""finalize: the article as the API returns it, holding only what the sources support.

HTML is dropped (a topic, a model or a source may bring it; a Markdown renderer would run it);
a citation whose sentence names what the cited source does not say is removed
(`agent.research.support`);
citations are renumbered in order of appearance and those naming no retrieved source dropped;
links and reference lists the model wrote are removed (the references are the app's, built
from the sources research retrieved); a paragraph left citing nothing is removed, since it is
not sourced. Each removal is listed in the article's `notes`. A draft with no usable citation
at all is not an article: the run ends as `model_error`.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

import tracing
from agent import citations
from agent.context import WriterContext
from agent.failures import Unwritable
from agent.research import markup, support
from agent.spans import traced_node
from agent.state import Article, ArticleSection, ArticleState, Reference, Source

REFERENCE_HEADING = re.compile(
    r"^#{1,6}\s*(references|sources|bibliography|works cited|further reading|citations)\b.*$",
    re.I | re.M,
)
MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\((?:https?://|www\.)[^)]*\)")
BARE_LINK = re.compile(r"<?(?:https?://|www\.)[^\s)>\]]+>?")
# Citations kept, and removed as unsupported (agent.research.support).
SUPPORT_EVENT = "citation_support"


@traced_node("finalize")
async def finalize(state: ArticleState, runtime: Runtime[WriterContext]) -> dict[str, Any]:
    sources = state.get("sources") or []
    article = assemble(state["draft"], sources, state["outline"].title)
    cited = len(citations.CITATION.findall(article.markdown))
    tracing.record_event(SUPPORT_EVENT, kept=cited, removed=article.unsupported_citations)
    coverage = state.get("coverage")
    if coverage and coverage.sections_dropped:
        listed = "; ".join(coverage.sections_dropped)
        article.notes.insert(0, f"Left out for lack of sources on them: {listed}.")
    if coverage and coverage.unreachable:
        article.notes.append(
            "Not reached, so the article rests on the other sources: "
            + "; ".join(coverage.unreachable)
            + "."
        )
    if coverage and coverage.outline_from_sources:
        article.notes.insert(
            0,
            "None of the planned sections was one the sources could support, so the article "
            "follows the sources' own sections.",
        )
    return {"article": article}


def assemble(draft: str, sources: list[Source], fallback_title: str) -> Article:
    notes: list[str] = []
    markdown, lists = _without_reference_lists(draft)
    if lists:
        notes.append(
            "A reference list the model wrote was removed; the references below are "
            "the sources research retrieved."
        )
    markdown, links = _without_links(markdown)
    if links:
        notes.append(f"{links} link(s) the model wrote were removed: they are not sources.")
    markdown, tags = markup.without_markup(markdown)
    fallback_title, title_tags = markup.without_markup(fallback_title)
    if tags + title_tags:
        notes.append(
            f"{tags + title_tags} piece(s) of HTML markup were removed: an article is "
            "plain Markdown."
        )
    checked = support.check(markdown, [s.passages for s in sources])
    markdown = checked.markdown
    if checked.removed:
        lacking = "; ".join(f"[{n}] lacks {words}" for n, words in checked.removed[:3])
        notes.append(
            f"{len(checked.removed)} citation(s) were removed: the sentence names what its "
            f"source does not say ({lacking})."
        )

    # Renumber: the first source cited becomes [1]; numbers naming no source are dropped.
    order = [n for n in citations.cited(markdown) if 1 <= n <= len(sources)]
    if not order and checked.removed:
        raise Unwritable(
            "model_error",
            f"The language model's draft cited its sources only for what they do not say: "
            f"each of its {len(checked.removed)} citation(s) named a word or figure the cited "
            "passages lack, so it is not returned as a sourced article. A more capable model "
            "may do better; trying again may help.",
        )
    if not order:
        raise Unwritable(
            "model_error",
            f"The language model's draft cited none of the {len(sources)} source(s) it was "
            "given, so it is not returned as a sourced article. A more capable model may do "
            "better; trying again may help.",
        )
    renumber = {old: new for new, old in enumerate(order, 1)}

    def swap(match: re.Match[str]) -> str:
        new = renumber.get(int(match.group(1)))
        return f"[{new}]" if new else ""

    markdown = citations.tidy(citations.CITATION.sub(swap, markdown))
    markdown, uncited = _without_uncited_paragraphs(markdown)
    if uncited:
        notes.append(f"{uncited} paragraph(s) citing no source were removed.")
    title = fallback_title
    if found := re.match(r"^# (.+)$", markdown, re.M):
        title = found.group(1).strip()
    title = title.strip() or "Untitled"
    sections = [
        ArticleSection(heading=heading.strip(), markdown=body.strip())
        for heading, body in re.findall(r"^## ([^\n]+)\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    ]
    references = [
        Reference(
            n=new,
            source_id=(cited := sources[old - 1]).id,
            title=markup.without_markup(cited.title)[0].strip() or cited.id,
            origin=cited.origin,
            location=cited.location,
        )
        for old, new in renumber.items()
    ]
    return Article(
        title=title,
        markdown=markdown,
        sections=sections,
        references=references,
        word_count=citations.count_words(markdown),
        notes=notes,
        unsupported_citations=len(checked.removed),
    )


def _without_reference_lists(markdown: str) -> tuple[str, int]:
    """Cuts each "References"-like heading and what follows it up to the next heading."""
    found = 0
    while heading := REFERENCE_HEADING.search(markdown):
        following = re.search(r"^#{1,6}\s", markdown[heading.end() :], re.M)
        end = heading.end() + following.start() if following else len(markdown)
        markdown = markdown[: heading.start()] + markdown[end:]
        found += 1
    return markdown.strip(), found


def _without_links(markdown: str) -> tuple[str, int]:
    count = len(MARKDOWN_LINK.findall(markdown))
    markdown = MARKDOWN_LINK.sub(lambda m: m.group(1), markdown)
    count += len(BARE_LINK.findall(markdown))
    markdown = BARE_LINK.sub("", markdown)
    return citations.tidy(markdown), count


def _without_uncited_paragraphs(markdown: str) -> tuple[str, int]:
    """Keeps headings, and the prose paragraphs that cite; drops headings left with none."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", markdown) if b.strip()]
    kept: list[str] = []
    dropped = 0
    for block in blocks:
        if block.startswith("#") or citations.CITATION.search(block):
            kept.append(block)
        else:
            dropped += 1
    # A level-2 heading followed by another heading (or nothing) has lost its whole section.
    tidy = [
        block
        for i, block in enumerate(kept)
        if not block.startswith("## ") or (i + 1 < len(kept) and not kept[i + 1].startswith("#"))
    ]
    return "\n\n".join(tidy), dropped
