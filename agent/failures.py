"""Why the agent could not write an article: a code that says whose fault it is, and a message
a user can act on.

The nodes raise `Unwritable` when the run cannot honestly go on (the sources do not cover the
topic, the model's answer is unusable, the article cannot fit the model's context); the service
layer turns it, and the failures of the provider and of time, into its own `WriteFailed`.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, str] = {
    "no_sources": "The source library has nothing that covers the topic, so no article was "
    "written. Add documents about it to a folder and point SOURCES_DIR at it.",
    "model_error": "The language model's answer could not be used, even after it was shown "
    "its error once. A more capable model may do better; trying again may help.",
    "context_too_small": "The sources and the article do not fit in the model's context "
    "window. Ask for fewer words, or use a model with a larger context.",
    "unrevisable": "The follow-up asks for a change this app cannot make.",
}


class Unwritable(Exception):
    """Raised inside the graph: the run cannot honestly produce an article."""

    def __init__(self, code: str, message: str | None = None, **details: Any) -> None:
        super().__init__(message or MESSAGES[code])
        self.code = code
        self.message = message
        self.details = details
