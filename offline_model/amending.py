"""The follow-up reader: which change a reader's instruction asks of the article.

It reads the instruction's words for a few plain requests ("shorter", "add a section on X",
"drop the section on X", "more formal", "for children"), the way a person skims a note, and
says `cannot` for anything else. That is the one place the offline model reads prose: the
instruction is the user's, not the prompt's, so no prompt rewording changes what it reads.
"""

from __future__ import annotations

import re
from typing import Any

from offline_model.conversation import Conversation

SHORTER = re.compile(r"\b(shorter|shorten|trim|cut|condense|brief|briefer|concise|tighten)\b")
LONGER = re.compile(r"\b(longer|lengthen|expand|extend|more detail|in depth|elaborate)\b")
ADD = re.compile(r"\badd\b.*?\bsection\b\s*(?:on|about|covering|for)?\s*(?P<subject>.+)", re.I)
DROP = re.compile(
    r"\b(?:drop|remove|delete|cut)\b.*?\bsection\b\s*(?:on|about|called|named)?\s*(?P<subject>.+)",
    re.I,
)
AUDIENCE = re.compile(r"\bfor (?P<audience>(?:a |an )?[a-z][a-z -]{2,60}?)(?:[.,;!]|$)", re.I)
TONE = re.compile(
    r"\b(?:more |less |a |an )?(?P<tone>formal|informal|casual|friendly|playful|serious|"
    r"technical|plain|neutral|warm|academic|conversational)\b(?: tone)?",
    re.I,
)
WORDS = re.compile(r"\b(\d{2,4})\s*words?\b", re.I)


def amend(convo: Conversation) -> dict[str, Any]:
    instruction = " ".join(convo.body("instruction").split())
    low = instruction.lower()
    answer: dict[str, Any] = {"action": "cannot", "subject": "", "tone": "", "audience": ""}
    if words := WORDS.search(low):
        answer["target_words"] = int(words.group(1))
    if found := DROP.search(instruction):
        return {**answer, "action": "drop_section", "subject": _clean(found["subject"])}
    if found := ADD.search(instruction):
        return {**answer, "action": "add_section", "subject": _clean(found["subject"])}
    if SHORTER.search(low):
        return {**answer, "action": "shorten"}
    if LONGER.search(low):
        return {**answer, "action": "lengthen"}
    tone, audience = TONE.search(instruction), AUDIENCE.search(instruction)
    if tone or audience:
        answer["tone"] = f"more {tone['tone'].lower()}" if tone else ""
        answer["audience"] = _clean(audience["audience"]) if audience else ""
        return {**answer, "action": "restyle"}
    return answer


def _clean(text: str) -> str:
    text = re.sub(r"^(?:the|a|an)\s+", "", text.strip(), flags=re.I)
    return text.strip(" .,;:!?\"'")
