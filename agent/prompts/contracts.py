"""What each node's prompt may use and what it must answer: declared once, here.

A prompt file is the prompt engineer's; its contract is the code's. The node fills exactly the
variables named here, a prompt file may use any of them (and no other), and a prompt that asks
for structured JSON names its schema here. The sync registers that schema with the prompt, so
the registry shows what each version must answer, and the node asks the model for the same one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from agent.state import Amendment, Outline, ReviewVerdict, SourceGrades

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class NodePrompt:
    name: str  # the registry name, `prompts:/<name>@<alias>`
    variables: frozenset[str]


@dataclass(frozen=True)
class AnsweredPrompt(NodePrompt, Generic[T]):
    """A prompt whose final answer is JSON of one schema (`agent.structured.ask`)."""

    answer: type[T]


PLAN = AnsweredPrompt(
    "article-plan", frozenset({"topic", "audience", "tone", "target_words", "background"}), Outline
)
RESEARCH = NodePrompt("article-research", frozenset({"topic", "outline", "questions"}))
DRAFT = NodePrompt(
    "article-draft",
    frozenset({"topic", "title", "audience", "tone", "target_words", "outline", "sources"}),
)
# The editor's tool calls come first; its decision is the answer (agent.nodes.review).
REVIEW = AnsweredPrompt(
    "article-review", frozenset({"audience", "target_words", "draft"}), ReviewVerdict
)
# `change`: what the reader asked of the article on a later turn of a session (or none).
REVISE = NodePrompt(
    "article-revise",
    frozenset({"audience", "tone", "target_words", "issues", "change", "sources", "draft"}),
)
# A later turn's instruction, read as one of the changes the graph can make (agent.nodes.amend).
AMEND = AnsweredPrompt("article-amend", frozenset({"instruction", "article"}), Amendment)

# The sources the coverage rule kept, graded by the model for whether each is about the topic
# (agent.nodes.coverage; SOURCE_GRADER). `subject`: the topic's telling words.
GRADE = AnsweredPrompt("article-grade", frozenset({"topic", "subject", "sources"}), SourceGrades)

CONTRACTS: dict[str, NodePrompt] = {
    p.name: p for p in (PLAN, RESEARCH, DRAFT, REVIEW, REVISE, AMEND, GRADE)
}


def answer_schema(name: str) -> type[BaseModel] | None:
    contract = CONTRACTS[name]
    return contract.answer if isinstance(contract, AnsweredPrompt) else None
