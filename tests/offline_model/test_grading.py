"""The offline model as a grader of sources: a word check it says it made."""

from __future__ import annotations

import json

from agent.prompts import blocks
from agent.research.sources import Passage
from agent.state import Source, SourceGrades
from agent.structured import response_format
from offline_model.model import respond


def ask(subject: list[str], sources: list[Source]) -> SourceGrades:
    body = {
        "messages": [
            {"role": "system", "content": "Grade each source."},
            {
                "role": "user",
                "content": f"{blocks.list_block(subject, 'subject')}\n\n"
                f"{blocks.sources_block(sources)}",
            },
        ],
        "response_format": response_format(SourceGrades),
    }
    return SourceGrades.model_validate(json.loads(respond(body).content or ""))


def source(sid: str, text: str) -> Source:
    return Source(
        id=sid, title=sid, passages=[Passage(source_id=sid, title=sid, section="S", text=text)]
    )


def test_a_source_holding_a_telling_word_is_relevant_and_one_holding_none_is_not() -> None:
    grades = ask(
        ["telescope", "lenses"],
        [
            source("optics", "Early telescopes used two lenses in a tube."),
            source("press", "The invention of the printing press changed Europe."),
        ],
    )
    assert [(g.source, g.relevant) for g in grades.grades] == [(1, True), (2, False)]
    assert "none of telescope, lenses" in grades.grades[1].reason
    assert all(g.reason.startswith("Offline word check") for g in grades.grades)
