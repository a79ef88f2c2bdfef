"""The offline model as the grader of sources: is each numbered source about the topic?

It cannot read meaning, so it applies a word rule to what the prompt gives it and says so in
each reason: a source is relevant when its passages hold every telling word of the topic (the
`<subject>` block, which the app fills from its own coverage rule), each word whole or as the
start of a longer one ("bee" in "bees"). The app asks it only with SOURCE_GRADER=model: under
`auto`, the offline provider's sources are graded by the app's rule itself.
"""

from __future__ import annotations

import re
from typing import Any

from offline_model import blocks
from offline_model.conversation import Conversation


def grade(convo: Conversation) -> dict[str, Any]:
    words = [w for term in blocks.parse_list(convo.body("subject")) for w in _words(term)]
    grades = []
    for source in blocks.parse_sources(convo.body("sources")):
        text = " ".join(f"{p.title} {p.section} {p.text}" for p in source.passages).lower()
        held = set(_words(text))
        missing = [w for w in words if not any(h.startswith(w) for h in held)]
        if missing:
            reason = f"Offline word check: its passages lack {', '.join(missing[:3])}."
        else:
            reason = "Offline word check: its passages hold every telling word of the topic."
        grades.append({"source": source.n, "relevant": not missing, "reason": reason})
    return {"grades": grades}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())
