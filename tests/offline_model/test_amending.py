"""The offline model's reading of a follow-up: a few plain requests, `cannot` for the rest."""

from __future__ import annotations

import pytest

from offline_model.amending import amend
from offline_model.conversation import Conversation


def read(instruction: str) -> dict[str, object]:
    prompt = f"Instruction:\n<instruction>\n{instruction}\n</instruction>"
    return amend(Conversation([{"role": "user", "content": prompt}], [], None, "Amendment"))


@pytest.mark.parametrize(
    ("instruction", "expected"),
    [
        ("Make it shorter", {"action": "shorten"}),
        ("Trim it to 300 words", {"action": "shorten", "target_words": 300}),
        ("Expand it, more detail please", {"action": "lengthen"}),
        ("Add a section on grid storage.", {"action": "add_section", "subject": "grid storage"}),
        ("please drop the section about costs", {"action": "drop_section", "subject": "costs"}),
        ("More formal", {"action": "restyle", "tone": "more formal"}),
        ("Rewrite it for children", {"action": "restyle", "audience": "children"}),
        ("Write me a poem", {"action": "cannot"}),
    ],
)
def test_plain_requests_are_read_as_their_change(
    instruction: str, expected: dict[str, object]
) -> None:
    answer = read(instruction)
    assert {key: answer[key] for key in expected} == expected
