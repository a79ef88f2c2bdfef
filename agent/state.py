"""The graph's typed state and the structured shapes the model is asked for."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, Field

from agent.research.sources import Origin, Passage


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


class Source(BaseModel):
    """A document research used; the article cites it as [n], n being its 1-based position."""

    id: str
    title: str
    passages: list[Passage]  # those research saw, best first

    @property
    def origin(self) -> Origin:
        return self.passages[0].origin if self.passages else "library"

    @property
    def location(self) -> str:
        return self.passages[0].location if self.passages else ""


class Scored(BaseModel):
    """A document and the share of the topic's weight it holds (agent.research.subject)."""

    id: str
    title: str
    score: float


class SourceGrade(BaseModel):
    """Whether one source research found is about the topic, who said so, and why."""

    id: str
    title: str
    relevant: bool
    share: float = Field(description="The share of the topic's weight the source holds, 0-1.")
    reason: str
    by: Literal["rule", "model"]


class GradedSource(BaseModel):
    source: int = Field(description="The source's number, n in [n].")
    relevant: bool = Field(description="Whether the source is about the topic itself.")
    reason: str = Field(description="Why, in one short sentence.")


class SourceGrades(BaseModel):
    """The model's verdict on each numbered source (agent.nodes.coverage)."""

    grades: list[GradedSource]


class Coverage(BaseModel):
    """Whether what research found can ground the article (agent.research.grounding)."""

    verdict: Literal["covered", "partial", "none"]
    score: float = Field(
        description="The share of the topic's weight the kept sources hold between them, 0-1."
    )
    needed: float = Field(0.0, description="The share the topic needed (agent.research.subject).")
    subject: list[str] = Field(
        default_factory=list, description="The topic's words, as the rule weighs them."
    )
    kept: list[Scored]
    dropped: list[Scored] = Field(description="Found by research, but about something else.")
    grades: list[SourceGrade] = Field(default_factory=list, description="One per source found.")
    sections_dropped: list[str]
    outline_from_sources: bool = Field(
        False, description="No planned section was usable: the sources' own sections serve."
    )
    missing_terms: list[str] = Field(description="Topic words that no kept source holds.")
    unreachable: list[str] = Field(
        default_factory=list, description="Web providers or pages research could not use, why."
    )
    closest: list[Scored] = Field(description="The library's closest documents (verdict none).")


class Reference(BaseModel):
    n: int
    source_id: str
    title: str
    origin: Origin = Field(
        "library",
        description="Where the source is from: the bundled library, your documents, the web.",
    )
    location: str = Field("", description="The file, in SOURCES_DIR, or the page's URL.")


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
    unsupported_citations: int = Field(
        0, description="Citations removed because the sentence names what its source lacks."
    )


class FollowUp(BaseModel):
    """A later turn of a session: what the reader asked of the article they have."""

    instruction: str
    target_words: int | None = None  # a length the reader named, beside the instruction


Action = Literal["shorten", "lengthen", "add_section", "drop_section", "restyle", "cannot"]


class Amendment(BaseModel):
    """What a follow-up instruction asks of the current article, in terms the graph can do."""

    action: Action = Field(
        description="shorten or lengthen it; add or drop a section; restyle (a new tone or "
        "audience); cannot: none of these."
    )
    subject: str = Field(
        "", description="add_section: what the new section covers; drop_section: its heading."
    )
    tone: str = Field("", description="restyle: the new tone, if the instruction names one.")
    audience: str = Field("", description="restyle: the new audience, if it names one.")
    target_words: int | None = Field(None, description="A length the instruction names.")
    cite: list[int] = Field(
        default_factory=list, description="add_section: the sources' numbers it may cite."
    )


class ArticleInput(TypedDict):
    """What a run is given: the request's article fields (`service.request.WriteRequest`), or, on
    a later turn of a session, only the follow-up (the rest is the session's state)."""

    topic: str  # what the article is about, as the user wrote it
    audience: str  # who reads it: the prompts and the readability check aim at them
    tone: str
    target_words: int  # the length asked for; LENGTH_TOLERANCE either way counts as on length
    follow_up: NotRequired[FollowUp | None]  # a revise turn starts at `amend`, not at `plan`
    review_outline: NotRequired[bool]  # the run pauses after `plan` for a person to approve


class ArticleState(ArticleInput, total=False):
    """The input and what the nodes add to it, each field written by the node named above it."""

    # amend (a revise turn): what the follow-up asks, for the writer's next revision
    amendment: Amendment | None
    # plan
    outline: Outline
    # research: its own conversation, so tool chatter never reaches the writer's prompts
    research_messages: Annotated[list[AnyMessage], add_messages]
    research_rounds: int  # model turns so far; routing stops at MAX_RESEARCH_ROUNDS
    sources: list[Source]  # what research found, in the order it met them; [n] is position n
    # coverage: whether the sources can ground the article; it may drop sources and sections
    coverage: Coverage
    # draft, review, revise
    draft: str  # the article so far, in Markdown with [n] citations
    review_messages: Annotated[list[AnyMessage], add_messages]
    editor_rounds: int  # editor turns that asked for tools; bounded by MAX_EDITOR_ROUNDS
    verdict: ReviewVerdict | None  # cleared by revise, so a stale verdict never routes
    revisions: int  # bounded by MAX_REVISIONS
    # finalize
    article: Article
