"""A run's tokens, summed over every model it called, and their price where one is known."""

from __future__ import annotations

from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.messages.ai import UsageMetadata

from cli.settings import Settings
from service import usage


def counted(**by_model: tuple[int, int]) -> UsageMetadataCallbackHandler:
    handler = UsageMetadataCallbackHandler()
    for model, (given, said) in by_model.items():
        handler.usage_metadata[model] = UsageMetadata(
            input_tokens=given, output_tokens=said, total_tokens=given + said
        )
    return handler


def test_tokens_are_summed_over_every_model_the_run_called() -> None:
    total = usage.total(counted(writer=(1000, 200), judge=(50, 5)))
    assert total == usage.Usage(input_tokens=1050, output_tokens=205, total_tokens=1255)
    assert usage.total(UsageMetadataCallbackHandler()) == usage.Usage()


def test_a_priced_model_costs_what_mlflows_table_says_and_an_unpriced_one_nothing() -> None:
    spent = usage.Usage(input_tokens=1_000_000, output_tokens=1_000_000, total_tokens=2_000_000)
    priced = Settings(llm_model="openai:gpt-4o-mini", openai_api_key="sk-test-1234567890")
    cost = usage.cost_usd(priced, spent)
    assert cost is not None and 0.1 < cost < 5  # gpt-4o-mini: cents per million tokens
    assert usage.cost_usd(Settings(), spent) is None  # the offline model has no price
