"""The offline model as the grader of sources: is each numbered source about the topic?

It cannot read meaning, so it applies a word rule to what the prompt gives it and says so in
each reason: a source is relevant when the passages it is shown hold a telling word of the
topic (the `<subject>` block, which the app fills from its own coverage rule), whole or as the
start of a longer one ("bee" in "bees"). The app's rule has already judged each source whole;
the model sees a source's best passages only, so it asks for one word, not all. The app asks
it only with SOURCE_GRADER=model: under `auto`, the offline provider's sources are graded by
the app's rule itself.
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
        present = [w for w in words if any(h.startswith(w) for h in held)]
        if present:
            reason = f"Offline word check: its passages hold {', '.join(present[:3])}."
        else:
            reason = f"Offline word check: its passages hold none of {', '.join(words[:3])}."
        grades.append({"source": source.n, "relevant": bool(present), "reason": reason})
    return {"grades": grades}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())
