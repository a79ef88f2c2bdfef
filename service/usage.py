"""What a run spent: tokens summed over every model call, and their price where MLflow has one."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.callbacks import UsageMetadataCallbackHandler

from service.settings import ServiceSettings
from tracing import internals


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


def total(handler: UsageMetadataCallbackHandler) -> Usage:
    """The run's tokens so far, over every model it called (LangChain counts them per model)."""
    by_model = handler.usage_metadata.values()
    return Usage(
        input_tokens=sum(u.get("input_tokens", 0) for u in by_model),
        output_tokens=sum(u.get("output_tokens", 0) for u in by_model),
        total_tokens=sum(u.get("total_tokens", 0) for u in by_model),
    )


def cost_usd(settings: ServiceSettings, usage: Usage) -> float | None:
    """USD from MLflow's own price table; None where it has no price (the offline model).

    Through the gateway the model answers under the endpoint's name, which has no price:
    the gateway prices each call on its own traces, by the model that answered.
    """
    if settings.provider != "openai":
        return None
    cost = internals.price_usd(
        settings.model_name, usage.input_tokens, usage.output_tokens, "openai"
    )
    return round(cost, 6) if cost is not None else None
