"""The offline model tells its tasks apart by a request's structure, never by its prose, and
decides a review from what was measured."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent import structured
from agent.prompts import blocks as prompt_blocks
from agent.research.sources import Passage
from agent.state import Outline, ReviewVerdict, Section, Source
from offline_model.model import Conversation, recognise, respond

OUTLINE = prompt_blocks.outline_block(
    Outline(
        title="Bees",
        sections=[Section(heading="Hives", question="How?"), Section(heading="Food", question="?")],
        research_questions=["bees"],
    ),
    "Bees",
    300,
)
SOURCES = prompt_blocks.sources_block(
    [
        Source(
            id="bees",
            title="Bees",
            passages=[Passage(source_id="bees", title="Bees", section="Hives", text="Bees hum.")],
        )
    ]
)
DRAFT = prompt_blocks.draft_block("# Bees\n\nBees hum [1].", 300)


def request(*texts: str, tools: tuple[str, ...] = (), schema: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": t} for t in texts]}
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": n}} for n in tools]
    if schema is not None:
        body["response_format"] = structured.response_format(schema)
    return body


@pytest.mark.parametrize(
    ("body", "task"),
    [
        (request("anything", tools=("search_sources", "read_source")), "research"),
        (request(DRAFT, tools=("word_count", "readability", "check_citations")), "review"),
        (request(DRAFT, schema=ReviewVerdict), "decision"),
        (request(prompt_blocks.background_block([], "Bees"), schema=Outline), "plan"),
        (request("Write it.", OUTLINE, SOURCES), "draft"),
        (request(prompt_blocks.list_block([], "issues"), SOURCES, DRAFT), "revise"),
        # The labels the prompt files once used are prose, and mean nothing.
        (request("Topic: Bees\n\nOutline:\n1. A: b?\n\nSources:\n[1] T (t)\n    S: x"), None),
        (request("Issues:\n- Add words.\n\nDraft:\n# Bees"), None),
    ],
)
def test_tasks_are_recognised_by_structure(body: dict[str, Any], task: str | None) -> None:
    assert recognise(Conversation.from_request(body)) == task


def decision(body: dict[str, Any]) -> ReviewVerdict:
    reply = respond(body)
    assert reply.tool_calls == [] and reply.content is not None
    return ReviewVerdict.model_validate_json(reply.content)


def test_the_decision_follows_the_tool_results_in_the_conversation() -> None:
    measured = {
        "word_count": {"words": 100, "target": 300},
        "check_citations": {"invalid": [7], "uncited_paragraphs": [2]},
    }
    calls = [
        {"id": f"c{i}", "type": "function", "function": {"name": name, "arguments": "{}"}}
        for i, name in enumerate(measured)
    ]
    body = request(DRAFT, schema=ReviewVerdict)
    body["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": calls},
        *(
            {"role": "tool", "tool_call_id": f"c{i}", "content": json.dumps(result)}
            for i, result in enumerate(measured.values())
        ),
    ]
    found = decision(body)
    assert found.decision == "revise"
    assert found.issues == [
        "The draft has 100 words against a target of 300: add about 200 words of sourced material.",
        "Citations [7] name no listed source: remove or correct them.",
        "Paragraphs 2 cite no source: support them with citations.",
    ]


def test_without_tool_results_the_decision_measures_the_draft_block() -> None:
    fine = prompt_blocks.draft_block("# Bees\n\nBees hum loudly [1].", 3)
    assert decision(request(fine, schema=ReviewVerdict)) == ReviewVerdict(decision="finalize")

    wrong = prompt_blocks.draft_block("# Bees\n\nBees hum loudly [2].\n\nThey sleep.", 5)
    # Citation numbers are checked only when the sources are in the prompt.
    assert decision(request(wrong, schema=ReviewVerdict)).issues == [
        "Paragraphs 2 cite no source: support them with citations."
    ]
    assert decision(request(wrong, SOURCES, schema=ReviewVerdict)).issues == [
        "Citations [2] name no listed source: remove or correct them.",
        "Paragraphs 2 cite no source: support them with citations.",
    ]


def test_the_editor_with_tools_measures_first() -> None:
    reply = respond(request(DRAFT, tools=("word_count", "readability", "check_citations")))
    assert [c["function"]["name"] for c in reply.tool_calls] == [
        "word_count",
        "readability",
        "check_citations",
    ]
    assert reply.finish_reason == "tool_calls"
