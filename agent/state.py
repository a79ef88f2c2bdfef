"""The graph's typed state and the structured shapes the model is asked for."""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field


class Section(BaseModel):
    heading: str = Field(description="Section heading as it will appear in the article.")
    question: str = Field(description="The question this section answers for the reader.")


class Outline(BaseModel):
    """The plan: what the article covers, in order, and what research must find out."""

    title: str
    sections: list[Section] = Field(min_length=2, max_length=6)
    research_questions: list[str] = Field(min_length=1, max_length=8)


class ReviewVerdict(BaseModel):
    """The editor's decision on a draft."""

    decision: Literal["revise", "finalize"]
    issues: list[str] = Field(default_factory=list, description="Concrete, fixable problems.")


class SourcePassage(BaseModel):
    section: str
    text: str


class Source(BaseModel):
    """A document research used; the article cites it as [n], n being its 1-based position."""

    id: str
    title: str
    passages: list[SourcePassage]


class Reference(BaseModel):
    n: int
    source_id: str
    title: str


class ArticleSection(BaseModel):
    heading: str
    markdown: str


class Article(BaseModel):
    title: str
    markdown: str
    sections: list[ArticleSection]
    references: list[Reference]
    word_count: int


class ArticleState(TypedDict, total=False):
    # the request
    topic: str
    audience: str
    tone: str
    target_words: int
    # plan
    outline: Outline
    # research: its own conversation, so tool chatter never reaches the writer's prompts
    research_messages: Annotated[list[AnyMessage], add_messages]
    research_rounds: int
    sources: list[Source]
    # draft, review, revise
    draft: str
    review_messages: Annotated[list[AnyMessage], add_messages]
    editor_rounds: int
    verdict: ReviewVerdict | None  # cleared by revise, so a stale verdict never routes
    revisions: int
    # finalize
    article: Article
