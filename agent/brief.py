"""What an article may be asked to be: the bounds of a request's article fields.

The API's body, the command line, the evaluation and the offline model read these, so a bound
changes in one place.
"""

from __future__ import annotations

TOPIC_CHARS = (3, 300)
AUDIENCE_MAX_CHARS = 100
TONE_MAX_CHARS = 60
TARGET_WORDS = (150, 2000)
INSTRUCTION_CHARS = (3, 500)
# An article within this share of `target_words` is on length: the scorer's bar, and the band
# the offline model aims inside.
LENGTH_TOLERANCE = 0.2


def topic_problem(topic: str) -> str | None:
    """Why a topic cannot be written about, for callers that do not validate with pydantic."""
    low, high = TOPIC_CHARS
    return (
        None
        if low <= len(topic.strip()) <= high
        else f"the topic must be {low} to {high} characters"
    )
