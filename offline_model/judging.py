"""The offline model as an LLM judge: the verdict it gives MLflow's judges.

Apart from the writing tasks because it serves the app's monitoring (scheduled scorers over
traces), not the article graph, and because what it may claim differs: it reports a word
overlap as such and answers "unknown" rather than guess a verdict a dashboard would show.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from offline_model import writing
from offline_model.conversation import Conversation, parse_json


def judge(convo: Conversation) -> dict[str, str]:
    """A verdict for an LLM judge's request: MLflow's judges ask for `{"result", "rationale"}`.

    The offline model cannot judge. It measures one criterion, whether an answer is relevant to
    its question (MLflow's RelevanceToQuery sends `<question>` and `<answer>`), as the content
    words they share, says so in the rationale, and answers "unknown" to any other criterion
    (safety, correctness...)."""
    prompt = convo.prompt
    question, answer = _tagged(prompt, "question"), _tagged(prompt, "answer")
    if question is None or answer is None or "relevant" not in prompt.lower():
        return {
            "result": "unknown",
            "rationale": "The offline model cannot judge this criterion: the only one it "
            "measures is whether an answer is relevant to its question, as shared words.",
        }
    wanted = writing.terms(_values(question))
    words = dict.fromkeys(re.findall(r"[a-z0-9]+", _values(answer).lower()))
    shared = [word for word in words if writing.terms(word) & wanted]
    check = "Offline word-overlap check, not a model's judgement: the answer"
    if not shared:
        return {"result": "no", "rationale": f"{check} shares no content word with the question."}
    return {
        "result": "yes",
        "rationale": f"{check} shares {len(shared)} content word(s) with the question "
        f"({', '.join(shared[:5])}).",
    }


def _tagged(prompt: str, tag: str) -> str | None:
    found = re.search(rf"<{tag}>(.*?)</{tag}>", prompt, re.S)
    return found.group(1) if found else None


def _values(text: str) -> str:
    """The text of a judged field; of a dict or list (a trace's inputs or outputs), only its
    string values, so that key names (`topic`, `word_count`) and numbers match nothing."""
    try:
        data = ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, RecursionError):
        data = parse_json(text.strip())
    if not isinstance(data, dict | list):
        return text

    def walk(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [t for v in value.values() for t in walk(v)]
        if isinstance(value, list):
            return [t for v in value for t in walk(v)]
        return [value] if isinstance(value, str) else []

    return " ".join(walk(data))
