"""The evaluations' settings: the LLM judges and how many rows run at once."""

from __future__ import annotations

from pydantic import Field

from service.settings import ServiceSettings


class EvalSettings(ServiceSettings):
    # --- evaluation -------------------------------------------------------------------------
    judge_model: str | None = Field(
        None, description="Model of the LLM judges, e.g. openai:/gpt-4o-mini; unset: skipped."
    )
    judge_base_url: str | None = Field(
        None, description="An OpenAI-compatible endpoint for the judges (…/v1)."
    )
    eval_max_workers: int = Field(
        2, ge=1, le=32, description="Rows evaluated at once (latency scores mean little above 2)."
    )
