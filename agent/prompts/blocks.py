"""The blocks the nodes write into their prompts' variables: the contract with any model.

A prompt's prose is the prompt engineer's to rewrite; these blocks are not. Each one is tagged
and self-delimiting, so that a model (and the offline model, `offline_model.blocks`) finds it
wherever a prompt file puts it and whatever words surround it:

    <tag name="value" ...>
    body
    </tag>

Attribute values are escaped with `html.escape(quote=True)`; bodies are not escaped and never
hold their own closing tag. Item text is put on one line. The blocks:

    <background topic="...">       what a first search of the library found for the topic
    - [source_id] Title / Section: text
    </background>                  (none found: the body is "(no passages found)")

    <outline title="..." topic="..." target_words="600">
    1. Heading: the reader's question
    </outline>

    <questions>                    research questions (research); <issues> in revise,
    - one item a line              the editor's issues (no issue: an empty body)
    </questions>

    <sources>                      the numbered sources that [n] citations name
    [1] Title (source_id)
        Section: text              one line per passage
                                   (a blank line between sources)
    </sources>                     (none: the body is "(no sources)")

    <draft target_words="600">
    the article in Markdown
    </draft>

    <article title="..." words="412" audience="..." tone="...">
    1. Heading                     the current article's sections (amend)
    </article>

    <instruction>                  a reader's follow-up, as they wrote it, on one line
    make it shorter
    </instruction>

    <change kind="add_section" subject="..." tone="..." audience="..." target_words="300"
            cite="4,5">            what revise must change for the reader (kind: shorten,
    the reader's instruction       lengthen, add_section, restyle); none: kind="none", empty
    </change>
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from agent.research.sources import Hit
from agent.state import Amendment, Article, Outline, Source


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _tagged(tag: str, body: str, **attributes: str | int) -> str:
    opening = "".join(
        f' {name}="{html.escape(str(value), quote=True)}"' for name, value in attributes.items()
    )
    return f"<{tag}{opening}>\n{body}\n</{tag}>" if body else f"<{tag}{opening}>\n</{tag}>"


def background_block(hits: Iterable[Hit], topic: str) -> str:
    lines = [
        f"- [{h.passage.source_id}] {h.passage.title} / {h.passage.section}: "
        f"{_one_line(h.passage.text)}"
        for h in hits
    ]
    return _tagged("background", "\n".join(lines) or "(no passages found)", topic=topic)


def outline_block(outline: Outline, topic: str, target_words: int) -> str:
    lines = [
        f"{i}. {_one_line(s.heading)}: {_one_line(s.question)}"
        for i, s in enumerate(outline.sections, 1)
    ]
    return _tagged(
        "outline", "\n".join(lines), title=outline.title, topic=topic, target_words=target_words
    )


def list_block(items: Iterable[str], tag: str) -> str:
    return _tagged(tag, "\n".join(f"- {_one_line(item)}" for item in items))


def sources_block(sources: list[Source]) -> str:
    blocks = []
    for n, source in enumerate(sources, 1):
        lines = [f"[{n}] {source.title} ({source.id})"]
        lines += [f"    {p.section}: {_one_line(p.text)}" for p in source.passages]
        blocks.append("\n".join(lines))
    return _tagged("sources", "\n\n".join(blocks) or "(no sources)")


def draft_block(draft: str, target_words: int) -> str:
    return _tagged("draft", draft.strip(), target_words=target_words)


def article_block(article: Article, audience: str, tone: str) -> str:
    lines = [f"{i}. {_one_line(s.heading)}" for i, s in enumerate(article.sections, 1)]
    return _tagged(
        "article",
        "\n".join(lines),
        title=article.title,
        words=article.word_count,
        audience=audience,
        tone=tone,
    )


def instruction_block(instruction: str) -> str:
    return _tagged("instruction", _one_line(instruction))


def change_block(amendment: Amendment | None, instruction: str) -> str:
    if amendment is None:
        return _tagged("change", "", kind="none")
    fields = {
        "subject": amendment.subject,
        "tone": amendment.tone,
        "audience": amendment.audience,
        "target_words": amendment.target_words or "",
        "cite": ",".join(str(n) for n in amendment.cite),
    }
    given = {name: value for name, value in fields.items() if value}
    return _tagged("change", _one_line(instruction), kind=amendment.action, **given)
