"""The agent's settings: the model's bounds, research sources, prompts, and the graph's bounds."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator

from tracing.settings import TracingSettings, unique

if TYPE_CHECKING:
    from agent.research.web import WebConfig

BUNDLED_SOURCES = Path(__file__).parent / "corpus"
BUNDLED_PROMPTS = Path(__file__).parent.parent / "prompts"
WEB_PROVIDERS = {"wikipedia", "tavily"}
ALIAS_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # a registry alias: `production`, `staging`


class AgentSettings(TracingSettings):
    # --- model ----------------------------------------------------------------------------
    llm_model: str = Field(
        "offline",
        description="`offline`, `openai:<model>` (OpenAI or any OpenAI-compatible server), or "
        "`gateway:<endpoint>` (an AI Gateway endpoint of the MLflow tracking server).",
    )
    llm_max_output_tokens: int = Field(
        4096, ge=64, description="Bound on the tokens of any one model answer (nodes ask less)."
    )
    llm_context_tokens: int | None = Field(
        None,
        ge=512,
        description="The model's context window; unset: asked of the provider where it says "
        "(vLLM, llama.cpp, LM Studio), else prompts are not budgeted.",
    )

    # --- research sources -----------------------------------------------------------------
    sources_dir: Path = BUNDLED_SOURCES
    sources_cache_dir: Path = Field(
        Path.home() / ".cache" / "article-writer" / "sources",
        description="Where PDF, HTML and Word files of SOURCES_DIR are kept as Markdown, by "
        "content: a folder is converted once, a changed file again.",
    )
    source_max_file_mb: float = Field(
        20, gt=0, description="A file of SOURCES_DIR larger than this is skipped, and said to be."
    )
    source_convert_timeout_seconds: float = Field(
        30, gt=0, description="Bound on converting one file; one that takes longer is skipped."
    )
    web_search: str = Field(
        "",
        description="Web providers research may ask, comma-separated: `wikipedia` (no key), "
        "`tavily` (TAVILY_API_KEY). Empty: none, the app stays offline.",
    )
    wikipedia_api_url: str = Field(
        "https://en.wikipedia.org/w/api.php", description="Wikipedia's API (a mirror, or tests)."
    )
    tavily_api_key: SecretStr | None = None
    tavily_api_url: str | None = Field(None, description="Tavily's API; unset: its own.")
    web_timeout_seconds: float = Field(
        10, gt=0, le=120, description="Bound on one provider's answer, pages fetched included."
    )
    web_max_page_mb: float = Field(2, gt=0, description="A larger page is not read.")
    web_max_results: int = Field(3, ge=1, le=10, description="Pages taken from one search.")
    web_allow_loopback: bool = Field(
        False, description="Let web requests reach loopback addresses: for tests only."
    )
    source_grader: Literal["auto", "rule", "model"] = Field(
        "auto",
        description="Who decides whether a source is about the topic: `rule`, the documented "
        "word rule (docs/grounding.md); `model`, the rule filters, then the model grades each "
        "source; `auto`, the model for any provider but the offline one.",
    )
    prompts_dir: Path = BUNDLED_PROMPTS

    prompt_alias: str = Field(
        "production", pattern=ALIAS_PATTERN, description="Registry alias to load."
    )
    prompt_cache_ttl_seconds: float = Field(
        60, ge=0, description="How long a loaded alias is reused before asking the registry."
    )

    # --- graph bounds ---------------------------------------------------------------------
    max_research_rounds: int = Field(3, ge=1, le=10, description="Tool rounds in research.")
    max_editor_rounds: int = Field(2, ge=1, le=5, description="Tool rounds in one review.")
    max_revisions: int = Field(2, ge=0, le=5, description="Revise -> review cycles.")
    step_timeout_seconds: float = Field(120, gt=0, description="Bound on one graph step.")

    @field_validator("llm_model")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        provider, _, name = value.partition(":")
        if value == "offline" or (provider == "openai" and name):
            return value
        if provider == "gateway":
            # MLflow's rule for endpoint names (mlflow.gateway.utils.is_valid_endpoint_name):
            # said at start rather than as a 404 in the middle of the first article.
            if name and all(c.isascii() and (c.isalnum() or c in "_-.") for c in name):
                return value
            raise ValueError(
                f"LLM_MODEL={value!r}: name the AI Gateway endpoint after 'gateway:' with "
                "letters, digits, '_', '-' and '.' only, e.g. gateway:writer-chat"
            )
        raise ValueError("LLM_MODEL must be 'offline', 'openai:<model>' or 'gateway:<endpoint>'")

    @property
    def provider(self) -> str:
        """`offline`, `openai` or `gateway`: who serves the model calls."""
        return "offline" if self.llm_model == "offline" else self.llm_model.split(":", 1)[0]

    @property
    def grades_with_model(self) -> bool:
        """The model grades each source the rule kept (`SOURCE_GRADER`)."""
        return self.source_grader == "model" or (
            self.source_grader == "auto" and self.provider != "offline"
        )

    @property
    def web(self) -> WebConfig | None:
        """The web providers research may ask (WEB_SEARCH), or None: no web."""
        from agent.research.web import WebConfig

        providers = tuple(p.strip().lower() for p in self.web_search.split(",") if p.strip())
        if not providers:
            return None
        return WebConfig(
            providers,
            self.wikipedia_api_url,
            self.tavily_api_key,
            self.tavily_api_url,
            self.web_timeout_seconds,
            int(self.web_max_page_mb * 1_000_000),
            self.web_max_results,
            self.web_allow_loopback,
        )

    @field_validator("web_search")
    @classmethod
    def _known_providers(cls, value: str) -> str:
        unknown = {p.strip().lower() for p in value.split(",") if p.strip()} - WEB_PROVIDERS
        if unknown:
            raise ValueError(
                f"WEB_SEARCH names {sorted(unknown)}; the providers are {sorted(WEB_PROVIDERS)}"
            )
        return value

    def secrets(self) -> list[str]:
        tavily = self.tavily_api_key.get_secret_value() if self.tavily_api_key else None
        return unique([*super().secrets(), tavily])


@lru_cache
def get_settings() -> AgentSettings:
    """The agent's settings in the environment: for a run given no context of its own
    (`agent.context.WriterContext`)."""
    return AgentSettings()
