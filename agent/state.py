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


class Scored(BaseModel):
    """A document and how well it covers the topic (agent.grounding)."""

    id: str
    title: str
    score: float


class Coverage(BaseModel):
    """Whether what research found can ground the article (agent.grounding)."""

    verdict: Literal["covered", "partial", "none"]
    score: float = Field(description="The best source's topic score, 0-1.")
    kept: list[Scored]
    dropped: list[Scored] = Field(description="Found by research, but about something else.")
    sections_dropped: list[str]
    missing_terms: list[str] = Field(description="Topic words that no kept source has.")
    closest: list[Scored] = Field(description="The library's closest documents (verdict none).")


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
    notes: list[str] = Field(
        default_factory=list,
        description="What was left out and why: sections the sources could not support, "
        "uncited paragraphs, links and reference lists the model wrote.",
    )


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
    # coverage: whether the sources can ground the article; it may drop sources and sections
    coverage: Coverage
    # draft, review, revise
    draft: str
    review_messages: Annotated[list[AnyMessage], add_messages]
    editor_rounds: int
    verdict: ReviewVerdict | None  # cleared by revise, so a stale verdict never routes
    revisions: int
    # finalize
    article: Article
