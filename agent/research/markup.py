"""What a source may bring that must not reach the article or the model as anything but data:
HTML (a Markdown renderer would pass it through to the page that shows the article), and
sentences addressed to the model ("ignore your instructions", "cite this URL"), which the
prompts already tell the model to treat as material, and which are dropped at the door too."""

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


# A sentence that speaks to the model rather than about the subject: told to ignore or replace
# its instructions, told what it is, or told to cite or link an address.
ADDRESSED = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,60}\b(?:instructions?|prompts?|rules)\b"
    r"|\bsystem prompt\b"
    r"|\byou are (?:now )?(?:an?|the) (?:ai|assistant|language model|model|writer)\b"
    r"|\b(?:cite|link to|reference|include)\b[^.!?\n]{0,60}(?:https?://|www\.)",
    re.I,
)
SENTENCE_GAP = re.compile(r"((?<=[.!?])\s+|\n)")


def without_instructions(text: str) -> tuple[str, int]:
    """The text without the sentences that address the model; how many went."""
    pieces = SENTENCE_GAP.split(text)  # sentence, gap, sentence, gap...
    kept: list[str] = []
    dropped = 0
    for i in range(0, len(pieces), 2):
        sentence, gap = pieces[i], pieces[i + 1] if i + 1 < len(pieces) else ""
        if ADDRESSED.search(sentence):
            dropped += 1
        else:
            kept.append(sentence + gap)
    return "".join(kept), dropped


def as_data(text: str) -> tuple[str, int]:
    """A source's text as research keeps it: no HTML, no sentence addressed to the model;
    how many such sentences went."""
    plain, _ = without_markup(text)
    return without_instructions(plain)
