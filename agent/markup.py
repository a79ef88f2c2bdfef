"""Markup kept out of articles: a topic, a model or a source may bring HTML, and a Markdown
renderer would pass it through to the page that shows the article."""

from __future__ import annotations

import re

# An element with its content where the content is code (script, style...), any other tag
# alone, comments.
CODE_ELEMENT = re.compile(r"<(script|style|iframe|object|embed)\b.*?(?:</\1\s*>|$)", re.I | re.S)
TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][^<>]*>", re.S)


def without_markup(text: str) -> tuple[str, int]:
    """The text with HTML elements dropped and any `<` left escaped, so that no renderer can
    read a tag into it; and how many pieces of markup went."""
    found = len(CODE_ELEMENT.findall(text))
    text = CODE_ELEMENT.sub("", text)
    found += len(TAG.findall(text))
    return TAG.sub("", text).replace("<", "&lt;"), found
