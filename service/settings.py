"""The service layer's settings: how the model is reached, sessions, runs, and turns' bounds."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from agent.settings import AgentSettings
from tracing.settings import unique, url_password

RETRY_WAIT_SECONDS = 8  # the longest the OpenAI client waits before a retry


class ServiceSettings(AgentSettings):
    # --- model provider -------------------------------------------------------------------
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = Field(
        None, description="An OpenAI-compatible endpoint, e.g. http://localhost:11434/v1."
    )
    llm_temperature: float = Field(0.2, ge=0, le=2)
    llm_max_retries: int = Field(2, ge=0, le=10, description="Retries on 429, 5xx, timeouts.")
    llm_timeout_seconds: float = Field(30, gt=0, description="Timeout of one model call.")
    offline_token_delay_ms: float = Field(
        0, ge=0, le=1000, description="Per-token delay of the offline model, for streaming demos."
    )
    offline_first_token_ms: float = Field(
        0,
        ge=0,
        le=60000,
        description="The offline model's wait before its first token, like a hosted model's "
        "time to first token (benchmarks: bench.throughput --setting).",
    )

    # --- bounds of a turn -----------------------------------------------------------------
    request_timeout_seconds: float = Field(180, gt=0, description="Bound on one whole article.")
    max_concurrent_writes: int = Field(
        16, ge=1, description="Articles written at once; more get 503 with Retry-After."
    )

    # --- sessions -------------------------------------------------------------------------
    checkpoint_url: str = Field(
        "sqlite:///.data/sessions.db",
        description="Where sessions last (LangGraph's checkpoints and the sessions' records): "
        "`sqlite:///<path>` (a file, created if missing), `postgresql://user@host:port/db` "
        "(every replica on it shares the sessions), or `memory` (this process only).",
    )
    checkpoint_pool_size: int = Field(
        10, ge=1, le=100, description="PostgreSQL connections each API process may hold."
    )
    run_retention_seconds: float = Field(
        86_400, gt=0, description="How long a background run and its events are kept."
    )
    run_max_events: int = Field(
        20_000, ge=100, description="Events kept per background run (then no more tokens)."
    )
    outline_ttl_seconds: float = Field(
        3600,
        gt=0,
        description="How long an outline paused for approval (`review_outline`) may wait.",
    )

    feedback_wait_seconds: float = Field(
        5,
        gt=0,
        le=60,
        description="How long feedback on a trace not stored yet waits for its export "
        "before it answers 404.",
    )

    log_format: Literal["text", "json"] = Field(
        "text",
        description="The server's log lines: text, or JSON objects (time, level, logger, "
        "message, request_id, trace_id, user, and an access line's method, path, status, "
        "duration_ms) for a log collector.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="The least severe log lines written."
    )

    @field_validator("checkpoint_url")
    @classmethod
    def _known_checkpoint_store(cls, value: str) -> str:
        if value == "memory" or (value.startswith("sqlite:///") and len(value) > 10):
            return value
        scheme, _, rest = value.partition("://")
        if scheme in ("postgresql", "postgres") and rest:
            return value
        raise ValueError(
            f"CHECKPOINT_URL={value!r}: use sqlite:///<path> (e.g. sqlite:///.data/sessions.db), "
            "postgresql://user@host:5432/db, or memory"
        )

    @model_validator(mode="after")
    def _provider_reachable(self) -> ServiceSettings:
        if self.provider == "openai" and not (self.openai_api_key or self.openai_base_url):
            raise ValueError(
                f"LLM_MODEL={self.llm_model} needs OPENAI_API_KEY, or OPENAI_BASE_URL for a "
                "local OpenAI-compatible server"
            )
        # The AI Gateway is a route of the tracking *server*; a sqlite file or a folder of runs
        # has none, and the app would only find out at its first model call.
        if self.provider == "gateway" and not self.mlflow_tracking_uri.startswith(
            ("http://", "https://")
        ):
            raise ValueError(
                f"LLM_MODEL={self.llm_model} sends model calls through the AI Gateway of an "
                "MLflow tracking server, so MLFLOW_TRACKING_URI must be that server's http(s) "
                f"URL (e.g. http://127.0.0.1:5000, the one `make run` starts), not "
                f"{self.mlflow_tracking_uri!r}"
            )
        return self

    @model_validator(mode="after")
    def _timeouts_fit(self) -> ServiceSettings:
        # The OpenAI client waits at most 8 s between attempts; all of one call's attempts must
        # fit in a graph step, or the step's bound cuts the later ones off unseen.
        attempts = self.llm_max_retries + 1
        worst = self.llm_timeout_seconds * attempts + RETRY_WAIT_SECONDS * self.llm_max_retries
        if worst > self.step_timeout_seconds:
            raise ValueError(
                f"LLM_TIMEOUT_SECONDS={self.llm_timeout_seconds:g} x {attempts} attempts "
                f"(LLM_MAX_RETRIES={self.llm_max_retries}) plus waits between them is "
                f"{worst:g} s, longer than STEP_TIMEOUT_SECONDS={self.step_timeout_seconds:g}: "
                "lower the timeout or the retries, or raise the step bound"
            )
        return self

    @property
    def model_name(self) -> str:
        """The model asked for: for `gateway`, the endpoint's name (which models answer is the
        endpoint's configuration, and may change without the app knowing)."""
        from offline_model.server import MODEL_NAME

        return MODEL_NAME if self.llm_model == "offline" else self.llm_model.split(":", 1)[1]

    def secrets(self) -> list[str]:
        key = self.openai_api_key.get_secret_value() if self.openai_api_key else None
        return unique([key, *super().secrets(), url_password(self.checkpoint_url)])


@lru_cache
def get_settings() -> ServiceSettings:
    return ServiceSettings()
