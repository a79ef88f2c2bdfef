"""The API's request and response bodies, as OpenAPI documents them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agent.brief import (
    AUDIENCE_MAX_CHARS,
    INSTRUCTION_CHARS,
    TARGET_WORDS,
    TONE_MAX_CHARS,
    TOPIC_CHARS,
)
from agent.research import grounding
from agent.settings import ALIAS_PATTERN
from agent.state import Article, Outline
from service.request import DEFAULTS, ID_PATTERN, TRACE_ID_PATTERN
from service.sessions import Turn


class WriteBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "topic": "How honeybees pollinate crops",
                    "audience": "gardeners",
                    "tone": "friendly",
                    "target_words": 600,
                    "user_id": "ada",
                    "session_id": "session-42",
                }
            ]
        },
    )

    topic: str = Field(
        min_length=TOPIC_CHARS[0],
        max_length=TOPIC_CHARS[1],
        description="What the article is about.",
    )
    audience: str = Field(DEFAULTS.audience, min_length=1, max_length=AUDIENCE_MAX_CHARS)
    tone: str = Field(DEFAULTS.tone, min_length=1, max_length=TONE_MAX_CHARS)
    target_words: int = Field(DEFAULTS.target_words, ge=TARGET_WORDS[0], le=TARGET_WORDS[1])
    user_id: str | None = Field(None, pattern=ID_PATTERN, description="Lands on the trace.")
    session_id: str | None = Field(None, pattern=ID_PATTERN, description="Lands on the trace.")
    prompt_alias: str | None = Field(
        None,
        pattern=ALIAS_PATTERN,
        description="Registry alias to load the prompts from (e.g. `staging`); default: the "
        "PROMPT_ALIAS setting.",
    )
    review_outline: bool = Field(
        False,
        description="Pause after the plan: the answer is 202 with the outline, to approve or "
        "edit with POST /sessions/{id}/outline before any research or drafting.",
    )

    @field_validator("topic", "audience", "tone", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        # Whitespace-only text is as empty as no text.
        return value.strip() if isinstance(value, str) else value


class ReviseBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"instruction": "make it shorter", "user_id": "ada"}]},
    )

    instruction: str = Field(
        min_length=INSTRUCTION_CHARS[0],
        max_length=INSTRUCTION_CHARS[1],
        description="What to change, in the reader's words: shorter or longer, add or drop a "
        "section, a new tone or audience.",
    )
    user_id: str | None = Field(
        None, pattern=ID_PATTERN, description="The session's owner, as its first turn named."
    )
    target_words: int | None = Field(
        None, ge=TARGET_WORDS[0], le=TARGET_WORDS[1], description="A length to aim at."
    )
    prompt_alias: str | None = Field(None, pattern=ALIAS_PATTERN)

    @field_validator("instruction", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class OutlineBody(BaseModel):
    """The answer to an outline paused for approval: `approve`, or an edited `outline`."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"approve": True, "user_id": "ada"}]}
    )

    approve: bool = Field(False, description="Go on with the outline as it is.")
    outline: Outline | None = Field(
        None, description="Go on with this outline instead (2-6 sections, 1-8 questions)."
    )
    user_id: str | None = Field(
        None, pattern=ID_PATTERN, description="The session's owner, as its first turn named."
    )
    prompt_alias: str | None = Field(None, pattern=ALIAS_PATTERN)

    @field_validator("outline")
    @classmethod
    def _says_something(cls, outline: Outline | None) -> Outline | None:
        # An empty or markup-only heading would only be dropped later, unseen by the editor.
        if outline is not None:
            texts = [outline.title, *outline.research_questions]
            texts += [text for s in outline.sections for text in (s.heading, s.question)]
            if blank := [text for text in texts if not grounding.says_something(text)]:
                raise ValueError(
                    "the title, each section's heading and question, and each research "
                    f"question must say something in words; these do not: {blank}"
                )
        return outline

    @model_validator(mode="after")
    def _one_answer(self) -> OutlineBody:
        if self.approve == (self.outline is not None):
            raise ValueError('send {"approve": true} or {"outline": {...}}, one of the two')
        return self


class OutlinePending(BaseModel):
    """A write that paused after its plan (`review_outline`): 202, and the `interrupt` event."""

    status: Literal["awaiting_outline"]
    outline: Outline
    trace_id: str | None
    trace_url: str | None
    request_id: str
    session_id: str
    turn: int
    expires_at: str = Field(description="After this (ISO 8601 UTC), approving it is 410.")


EXAMPLE_TRACE = "tr-6b274e68540a9668e389517c7e986e72"


class FeedbackBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "trace_id": "tr-6b274e68540a9668e389517c7e986e72",
                    "value": "up",
                    "user_id": "ada",
                },
                {
                    "trace_id": "tr-6b274e68540a9668e389517c7e986e72",
                    "value": 4,
                    "user_id": "ada",
                    "comment": "Clear, but the second section repeats the first.",
                },
            ]
        },
    )

    trace_id: str = Field(pattern=TRACE_ID_PATTERN, description="As /write returned it.")
    value: Literal["up", "down"] | Annotated[int, Field(ge=1, le=5)] = Field(
        description='Thumbs ("up" or "down") or a rating from 1 to 5.'
    )
    user_id: str = Field(pattern=ID_PATTERN, description="Who rates; one current rating each.")
    comment: str | None = Field(None, max_length=2000)

    @field_validator("value", mode="before")
    @classmethod
    def _no_bools(cls, value: object) -> object:
        if isinstance(value, bool):  # JSON true would otherwise pass as the number 1
            raise ValueError('use "up"/"down" or a number from 1 to 5')
        return value


class FeedbackStored(BaseModel):
    assessment_id: str
    trace_id: str
    name: str = Field(description="`thumbs` or `rating`.")
    value: bool | int
    overrides: str | None = Field(description="The earlier rating this one replaces, if any.")


class FeedbackOut(BaseModel):
    assessment_id: str
    name: str
    value: Any
    source_type: str
    source_id: str | None
    comment: str | None
    current: bool
    created_ms: int | None


class UsageOut(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class PromptUsed(BaseModel):
    name: str
    version: int | None = Field(description="Registry version; null for bundled files.")
    alias: str | None


class WriteResponse(BaseModel):
    article: Article
    trace_id: str | None = Field(
        description="The MLflow trace of this request (null: tracing off)."
    )
    trace_url: str | None = Field(description="The trace in the MLflow UI, when it can be linked.")
    request_id: str
    usage: UsageOut
    cost_usd: float | None = Field(description="null when MLflow has no price for the model.")
    model: str
    duration_ms: int
    prompts: list[PromptUsed] = Field(description="The prompt versions this article used.")
    session_id: str = Field(
        description="The session this article belongs to: the request's, or a new one."
    )
    turn: int = Field(description="This request's turn in the session, from 1.")


class SessionOut(BaseModel):
    session_id: str
    user_id: str | None = Field(description="Who owns it: the user_id of its first turn.")
    created: str
    turns: list[Turn]
    article: Article | None = Field(description="The session's current article, if it has one.")


class ErrorBody(BaseModel):
    error: str = Field(description="A stable code: invalid_request, provider_error, ...")
    message: str = Field(description="What happened, and what to do about it.")
    trace_id: str | None = None
    request_id: str | None = None
    fields: list[dict[str, str]] | None = Field(None, description="Per-field problems (422).")
    closest_sources: list[dict[str, Any]] | None = Field(
        None, description="`no_sources`: the library's documents closest to the topic."
    )


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: Literal["ready", "degraded"]
    checks: dict[str, Check]
    reasons: list[str]


# --- traces, analytics, runs, prompts -------------------------------------------------


class ToolStats(BaseModel):
    tool: str
    calls: int
    errors: int = Field(description="Calls whose span ended in ERROR.")
    error_rate: float
    p50_ms: float
    p95_ms: float


class NodeStats(BaseModel):
    node: str
    runs: int
    p50_ms: float
    p95_ms: float
    share_of_time: float | None = Field(
        description="The node's total time over the total of the window's runs (root spans)."
    )


class ArticleStats(BaseModel):
    count: int = Field(description="Traces whose outcome is an article.")
    tokens_p50: float | None = None
    tokens_p95: float | None = None
    duration_ms_p50: float | None = None
    duration_ms_p95: float | None = None


class ToolAnalytics(BaseModel):
    since: str
    until: str
    tools: list[ToolStats] = Field(description="Most called first.")
    nodes: list[NodeStats] = Field(description="In the graph's order.")
    articles: ArticleStats


class PromptAliases(BaseModel):
    default: str = Field(description="The PROMPT_ALIAS setting: what a request naming none uses.")
    aliases: list[str] = Field(description="Aliases every prompt has, the default first.")


class RunOut(BaseModel):
    run_id: str
    status: str = Field(
        description="`running`, then `done`, `failed`, `cancelled` or `awaiting_outline`."
    )
    trace_id: str | None
    cancel_requested: bool
    outcome: dict[str, Any] | None = Field(
        description="When it has ended: the /write body (`done`), the 202 body "
        "(`awaiting_outline`) or `{code, message}` (`failed`, `cancelled`)."
    )


class TraceSummary(BaseModel):
    trace_id: str
    time: str = Field(description="When the request started, ISO 8601 UTC.")
    status: str
    duration_ms: int | None
    user_id: str | None
    session_id: str | None
    topic: str | None = Field(description="The request preview: the topic or instruction.")
    title: str | None = Field(description="The response preview: title and words, or error.")
    outcome: str | None
    tokens: int | None
    trace_url: str | None


class TracePage(BaseModel):
    traces: list[TraceSummary]
    next_page_token: str | None = Field(description="Send as page_token for the next page.")
