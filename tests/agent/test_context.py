"""The run's context fills a node's prompt: its contract kept, its sources fitted to the window."""

from __future__ import annotations

import pytest

from agent.context import Limits, WriterContext
from agent.failures import Unwritable
from agent.prompts import contracts
from agent.research.sources import Passage
from agent.state import Source
from tests.agent.runs import offline_llm

REVISE = {
    "audience": "readers",
    "tone": "plain",
    "target_words": 300,
    "issues": "<issues>\n</issues>",
    "change": '<change kind="none">\n</change>',
}


def sources(passages: int) -> list[Source]:
    text = "Bees carry pollen between flowers of one kind. " * 20
    return [
        Source(
            id=f"s{n}",
            title=f"Source {n}",
            passages=[
                Passage(source_id=f"s{n}", title=f"Source {n}", section=f"Part {i}", text=text)
                for i in range(passages)
            ],
        )
        for n in (1, 2)
    ]


def test_a_node_that_breaks_its_prompts_contract_is_told_which_variables() -> None:
    context = WriterContext(offline_llm(), limits=Limits(512))
    with pytest.raises(TypeError, match=r"article-plan takes .*'background'.*gave \['topic'\]"):
        context.prompt(contracts.PLAN, output_tokens=100, topic="Bees")


def test_sources_lose_their_lowest_passages_until_the_prompt_fits() -> None:
    roomy = WriterContext(offline_llm(), limits=Limits(512))
    _, whole = roomy.prompt(
        contracts.REVISE, output_tokens=300, sources=sources(4), draft="# Bees", **REVISE
    )
    tight = WriterContext(offline_llm(), limits=Limits(512, context_tokens=2500))
    _, fitted = tight.prompt(
        contracts.REVISE, output_tokens=300, sources=sources(4), draft="# Bees", **REVISE
    )
    prompt, full = fitted[-1].text + fitted[0].text, whole[-1].text + whole[0].text
    assert len(prompt) < len(full)
    assert "[1] Source 1" in prompt and "[2] Source 2" in prompt  # numbers kept: citations hold
    assert "Part 0" in prompt and "Part 3" not in prompt  # the lowest-ranked went first


def test_a_prompt_that_cannot_fit_ends_the_run_before_any_model_call() -> None:
    tiny = WriterContext(offline_llm(), limits=Limits(512, context_tokens=600))
    with pytest.raises(Unwritable) as raised:
        tiny.prompt(
            contracts.REVISE, output_tokens=300, sources=sources(1), draft="# Bees", **REVISE
        )
    assert raised.value.code == "context_too_small"
    assert "context window of 600" in raised.value.message
