"""Structured answers (the plan, the editor's decision) that survive imperfect models.

The model is asked for JSON by schema (`response_format`, which servers such as llama.cpp
enforce by grammar). An answer that does not parse, does not validate, or was cut at the
output-token bound gets one retry in which the model sees its answer and what was wrong with
it; a second failure ends the run as `model_error`. Each failed attempt is an event on the
node's span, so the trace shows what the model said and why it was refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ValidationError

import tracing
from agent.failures import Unwritable

T = TypeVar("T", bound=BaseModel)
UNUSABLE_EVENT = "structured_answer_unusable"
FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)
PREVIEW_CHARS = 300


def response_format(schema: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema()},
    }


def parse(schema: type[T], text: str) -> T:
    """The answer as `schema`; a JSON object in a Markdown fence is accepted as it is."""
    fenced = FENCE.match(text)
    return schema.model_validate_json(fenced.group(1) if fenced else text)


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return "is not valid JSON"
    where = ".".join(str(part) for part in first.get("loc", ())) or "the answer"
    return f"does not match the schema ({where}: {first.get('msg')})"


async def ask(llm: ChatOpenAI, messages: Sequence[BaseMessage], schema: type[T], what: str) -> T:
    """`schema` from the model, with one corrective retry; `what` names it in messages."""
    bound = llm.bind(response_format=response_format(schema))
    conversation = list(messages)
    for attempt in (1, 2):
        try:
            reply = await bound.ainvoke(conversation)
            text = str(reply.text)
            return parse(schema, text)
        except openai.LengthFinishReasonError as exc:
            choice = exc.completion.choices[0] if exc.completion.choices else None
            text = (choice.message.content if choice else None) or ""
            problem = "was cut off at the output-token limit before it was complete"
        except ValidationError as exc:
            problem = _problem(exc)
        tracing.record_event(
            UNUSABLE_EVENT,
            schema=schema.__name__,
            attempt=attempt,
            problem=problem,
            answer_preview=text[:PREVIEW_CHARS],
        )
        conversation += [
            AIMessage(text),
            HumanMessage(
                f"That answer {problem}. Reply again with only one JSON object that matches "
                f"the {schema.__name__} schema, and keep it short."
            ),
        ]
    raise Unwritable(
        "model_error",
        f"The language model's {what} could not be used: twice its answer {problem}. A more "
        "capable model may do better; trying again may help.",
    )
