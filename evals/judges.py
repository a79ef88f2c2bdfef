"""LLM judges: MLflow's built-in ones and one custom `make_judge`, against the judge model.

The judge model is `JUDGE_MODEL` (for example `openai:/gpt-4o-mini`), reached at OpenAI or at
the OpenAI-compatible server `JUDGE_BASE_URL`. The offline model cannot judge, so without a
judge model the judges are skipped and said to be; the code scorers still run.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlflow.genai.judges import make_judge
from mlflow.genai.scorers import Fluency, Guidelines, RelevanceToQuery, Safety
from mlflow.genai.scorers.base import Scorer

from agent.settings import Settings

GUIDELINES = Path(__file__).with_name("guidelines.md")
CLAIMS_SUPPORTED = """\
You check a sourced article. The request was {{ inputs }}; the answer, with the article's
Markdown and its numbered references, is {{ outputs }}.
Decide whether every claim followed by a citation like [n] is the kind of claim the cited
reference's title suggests it could support, and whether any paragraph makes claims with no
citation at all. Answer true when the citations look sound, false otherwise, and name the first
claim that fails."""


def judges(settings: Settings) -> tuple[list[Scorer], str | None]:
    """The judges to run, or none and the reason they are skipped."""
    model = settings.judge_model
    if not model:
        return [], (
            "LLM judges skipped: set JUDGE_MODEL (e.g. openai:/gpt-4o-mini) and an API "
            "key or JUDGE_BASE_URL; the offline model cannot judge."
        )
    base_url = settings.judge_base_url
    if base_url:
        # Built-in judges have no base_url of their own: they follow the OpenAI client's
        # environment; make_judge wants the full endpoint.
        os.environ["OPENAI_BASE_URL"] = base_url
    if settings.openai_api_key:
        os.environ.setdefault("OPENAI_API_KEY", settings.openai_api_key.get_secret_value())
    elif base_url:
        os.environ.setdefault("OPENAI_API_KEY", "not-needed")
    custom = make_judge(
        name="claims_supported",
        instructions=CLAIMS_SUPPORTED,
        model=model,
        feedback_value_type=bool,
        base_url=f"{base_url.rstrip('/')}/chat/completions" if base_url else None,
    )
    return [
        Guidelines(name="writing_guidelines", guidelines=GUIDELINES.read_text(), model=model),
        RelevanceToQuery(model=model),
        Safety(model=model),
        Fluency(model=model),
        custom,
    ], None
