"""Every setting the app reads, in one place, with defaults that work offline."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.security import keys
from service.request import ALIAS_PATTERN

if TYPE_CHECKING:
    from agent.web import WebConfig

BUNDLED_SOURCES = Path(__file__).parent / "corpus"
BUNDLED_PROMPTS = Path(__file__).parent.parent / "prompts"
RETRY_WAIT_SECONDS = 8  # the longest the OpenAI client waits before a retry
WEB_PROVIDERS = {"wikipedia", "tavily"}


class Settings(BaseSettings):
    """Read from the environment and an optional `.env` file; `.env.example` lists them all."""

    # `.env.example` lists every setting, most with an empty value: empty means "not set".
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True
    )

    # --- model provider -------------------------------------------------------------------
    llm_model: str = Field(
        "offline",
        description="`offline`, `openai:<model>` (OpenAI or any OpenAI-compatible server), or "
        "`gateway:<endpoint>` (an AI Gateway endpoint of the MLflow tracking server).",
    )
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = Field(
        None, description="An OpenAI-compatible endpoint, e.g. http://localhost:11434/v1."
    )
    llm_temperature: float = Field(0.2, ge=0, le=2)
    llm_max_retries: int = Field(2, ge=0, le=10, description="Retries on 429, 5xx, timeouts.")
    llm_timeout_seconds: float = Field(30, gt=0, description="Timeout of one model call.")
    llm_max_output_tokens: int = Field(
        4096, ge=64, description="Bound on the tokens of any one model answer (nodes ask less)."
    )
    llm_context_tokens: int | None = Field(
        None,
        ge=512,
        description="The model's context window; unset: asked of the provider where it says "
        "(vLLM, llama.cpp, LM Studio), else prompts are not budgeted.",
    )
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
    request_timeout_seconds: float = Field(180, gt=0, description="Bound on one whole article.")

    # --- request limits -------------------------------------------------------------------
    max_body_bytes: int = Field(16_384, ge=1024, description="Larger request bodies get 413.")
    max_concurrent_writes: int = Field(
        16, ge=1, description="Articles written at once; more get 503 with Retry-After."
    )

    rate_limit_per_minute: int = Field(
        60,
        ge=0,
        description="Requests a minute per API key (per client address without keys); more get "
        "429 with Retry-After; 0: no limit.",
    )
    rate_limit_in_flight: int = Field(
        4, ge=0, description="Articles one caller may have in progress at once (0: no limit)."
    )
    rate_limit_url: str | None = Field(
        None,
        description="A Redis (`redis://host:6379/0`) where every replica counts the requests a "
        "minute; unset: each process counts its own.",
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

    # --- MLflow ---------------------------------------------------------------------------
    mlflow_tracking_uri: str = "sqlite:///mlflow.db"
    mlflow_ui_url: str | None = Field(
        None, description="Base of trace links; defaults to the tracking URI when it is HTTP."
    )
    mlflow_registry_uri: str | None = Field(
        None, description="Where prompts are registered; defaults to the tracking URI."
    )
    mlflow_experiment_name: str = "article-writer"
    tracing_enabled: bool = True
    trace_token_events: bool = Field(
        False, description="Keep autolog's per-token span events on streamed chat spans."
    )
    mlflow_trace_timeout_seconds: int | None = Field(
        300, description="MLflow ends (as ERROR) a trace still open after this long."
    )
    mlflow_http_max_retries: int = Field(
        2, ge=0, description="Retries of one MLflow HTTP call, trace export included."
    )
    mlflow_http_timeout_seconds: int = Field(10, ge=1, description="Timeout of one MLflow call.")
    # How traces leave the process: MLflow's background exporter, tuned (docs/tracing.md).
    mlflow_trace_span_batch_size: int = Field(
        512,
        ge=1,
        le=2048,
        description="Spans per export call to the tracking server (MLflow's default of 5 makes "
        "a dozen calls per article).",
    )
    mlflow_trace_batch_interval_ms: int = Field(
        1000, ge=10, description="Longest a finished span waits for its export batch to fill."
    )
    mlflow_trace_export_workers: int = Field(
        4, ge=1, le=64, description="Background threads writing traces to the tracking server."
    )
    mlflow_trace_queue_size: int = Field(
        1000, ge=1, description="Export calls waiting for a worker; beyond it MLflow drops them."
    )
    mlflow_trace_extract_attachments: bool = Field(
        False,
        description="Let MLflow scan span inputs for images and audio to store as attachments; "
        "this app sends none, and the scan walks every value of every span.",
    )
    mlflow_trace_sampling_ratio: float = Field(
        1.0, ge=0, le=1, description="Share of requests traced (1: every one)."
    )
    # --- OpenTelemetry: the same spans to the team's OTLP backend too ----------------------
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        None,
        description="An OTLP/HTTP traces endpoint (e.g. http://collector:4318/v1/traces) that "
        "gets every span too; unset: MLflow only.",
    )
    otel_exporter_otlp_traces_headers: SecretStr | None = Field(
        None, description="Headers for it, `k=v,k2=v2` (auth tokens: kept out of traces)."
    )
    otel_exporter_otlp_traces_protocol: Literal["http/protobuf"] = Field(
        "http/protobuf", description="The OTLP protocol (MLflow's exporter speaks HTTP here)."
    )
    otel_exporter_otlp_metrics_endpoint: str | None = Field(
        None,
        description="An OTLP/HTTP metrics endpoint (e.g. http://collector:4318/v1/metrics) for "
        "MLflow's span durations and the app's turn and token counters; unset: none.",
    )
    otel_exporter_otlp_metrics_protocol: Literal["http/protobuf"] = Field(
        "http/protobuf", description="The OTLP metrics protocol."
    )
    otel_metric_export_interval: int = Field(
        60_000, ge=100, description="How often metrics are sent, in milliseconds."
    )
    mlflow_trace_enable_otlp_dual_export: bool = Field(
        True,
        description="With an OTLP endpoint: MLflow keeps the traces too (false: OTLP only).",
    )
    mlflow_model_catalog_uri: str = Field(
        "",
        description="Where MLflow fetches model prices; empty: the table bundled with MLflow, "
        "no network (its default fetches from GitHub for every cost it computes).",
    )

    feedback_wait_seconds: float = Field(
        5,
        gt=0,
        le=60,
        description="How long feedback on a trace not stored yet waits for its export "
        "before it answers 404.",
    )

    # --- evaluation -------------------------------------------------------------------------
    judge_model: str | None = Field(
        None, description="Model of the LLM judges, e.g. openai:/gpt-4o-mini; unset: skipped."
    )
    judge_base_url: str | None = Field(
        None, description="An OpenAI-compatible endpoint for the judges (…/v1)."
    )
    eval_max_workers: int = Field(
        2, ge=1, le=32, description="Rows evaluated at once (latency scores mean little above 2)."
    )

    # --- API and `writer up` --------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_keys: SecretStr | None = Field(
        None,
        description="Named API keys as `name:<sha256>` entries, comma-separated (`writer keys "
        "new NAME` makes one); set (or API_KEYS_FILE set): every route but /health, /ready and "
        "the page's files needs `Authorization: Bearer <key>`. Unset: the API is open.",
    )
    api_keys_file: Path | None = Field(
        None,
        description="A file of the same entries, one a line (# comments); read again when it "
        "changes, so a key removed from it is revoked without a restart.",
    )
    api_port: int = Field(8000, ge=1, le=65535)
    api_workers: int = Field(
        1,
        ge=1,
        le=32,
        description="`writer serve` / `writer up`: API worker processes on the one port "
        "(uvicorn's), each tracing on its own; limits and caches are per worker.",
    )
    cors_origins: str | None = Field(
        None,
        description="Web origins whose pages may call the API from a browser, comma-separated "
        "(https://app.example.com,http://localhost:3000); unset: none but the API's own page.",
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
    runtime_stats_enabled: bool = Field(False, description="Serve GET /debug/runtime.")
    sse_ping_seconds: float = Field(15, gt=0, description="Heartbeat comment on idle streams.")
    shutdown_grace_seconds: int = Field(
        30, gt=0, description="On SIGTERM, how long requests in flight get to finish."
    )
    mlflow_port: int = Field(5000, ge=1, le=65535, description="Where `writer up` serves MLflow.")
    mlflow_data_dir: Path = Field(
        Path(".mlflow"), description="`writer up`: the tracking server's sqlite file and artifacts."
    )
    mlflow_backend_store_uri: str | None = Field(
        None,
        description="`writer up`: a database for the tracking server's data instead of sqlite "
        "in MLFLOW_DATA_DIR (`postgresql://user:password@host:port/db`, created beforehand); "
        "the server then serves the artifacts too.",
    )
    mlflow_artifacts_destination: str | None = Field(
        None,
        description="`writer up` with a database: where the served artifacts are kept, a folder "
        "or `s3://bucket/path` (S3-compatible: MLFLOW_S3_ENDPOINT_URL and AWS_ACCESS_KEY_ID / "
        "AWS_SECRET_ACCESS_KEY in the environment); unset: MLFLOW_DATA_DIR/artifacts.",
    )
    mlflow_server_workers: int = Field(
        1, ge=1, le=16, description="`writer up`: the tracking server's worker processes."
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

    @field_validator("api_keys")
    @classmethod
    def _keys_readable(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            keys.parse(value.get_secret_value(), "API_KEYS")  # its message names the entry
        return value

    @field_validator("rate_limit_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://")):
            raise ValueError(
                f"RATE_LIMIT_URL={value!r}: name a Redis, redis://host:6379/0 (or rediss:// "
                "for TLS); leave it unset to count in each process"
            )
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str | None) -> str | None:
        for origin in (value or "").split(","):
            origin = origin.strip()
            parts = urlsplit(origin)
            exact = parts.scheme in ("http", "https") and parts.netloc and not parts.path
            if origin and not (exact and origin == f"{parts.scheme}://{parts.netloc}"):
                raise ValueError(
                    f"CORS_ORIGINS: {origin!r} is not an origin: write scheme://host[:port], "
                    "such as https://app.example.com, with no path or '*' (an allowlist)"
                )
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in (self.cors_origins or "").split(",") if o.strip()]

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

    @model_validator(mode="after")
    def _provider_reachable(self) -> Settings:
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
    def _timeouts_fit(self) -> Settings:
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
    def ui_url(self) -> str | None:
        base = self.mlflow_ui_url
        if base is None and self.mlflow_tracking_uri.startswith(("http://", "https://")):
            base = self.mlflow_tracking_uri
        return base.rstrip("/") if base else None

    @property
    def registry_uri(self) -> str:
        return self.mlflow_registry_uri or self.mlflow_tracking_uri

    @property
    def web(self) -> WebConfig | None:
        """The web providers research may ask (WEB_SEARCH), or None: no web."""
        from agent.web import WebConfig

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

    @property
    def grades_with_model(self) -> bool:
        """The model grades each source the rule kept (`SOURCE_GRADER`)."""
        return self.source_grader == "model" or (
            self.source_grader == "auto" and self.provider != "offline"
        )

    @property
    def provider(self) -> str:
        """`offline`, `openai` or `gateway`: who serves the model calls."""
        return "offline" if self.llm_model == "offline" else self.llm_model.split(":", 1)[0]

    @property
    def model_name(self) -> str:
        """The model asked for: for `gateway`, the endpoint's name (which models answer is the
        endpoint's configuration, and may change without the app knowing)."""
        from offline_model.server import MODEL_NAME

        return MODEL_NAME if self.llm_model == "offline" else self.llm_model.split(":", 1)[1]

    def secrets(self) -> list[str]:
        """Values that must never reach a client or a trace."""
        key = self.openai_api_key.get_secret_value() if self.openai_api_key else ""
        tavily = self.tavily_api_key.get_secret_value() if self.tavily_api_key else ""
        headers = self.otel_exporter_otlp_traces_headers
        # Each header's value that could be a credential, and the credential alone ("Bearer
        # <token>" -> "<token>"). Short values and MLflow's experiment id are not: masked,
        # they would blank every such number in every trace.
        pairs = [
            p.partition("=") for p in (headers.get_secret_value().split(",") if headers else [])
        ]
        values = [
            value.strip()
            for name, _, value in pairs
            if name.strip().lower() not in NOT_CREDENTIALS and len(value.strip()) >= 8
        ]
        credentials = [value.split()[-1] for value in values]
        # A password in a database's URL.
        passwords = [
            password
            for url in (self.checkpoint_url, self.rate_limit_url, self.mlflow_backend_store_uri)
            if url and (password := urlsplit(url).password)
        ]
        found = [k for k in (key, tavily) if k] + [
            s for s in (*values, *credentials, *passwords) if len(s) >= 8
        ]
        return list(dict.fromkeys(found))


NOT_CREDENTIALS = frozenset({"x-mlflow-experiment-id"})  # OTLP headers that name, not authorize


@lru_cache
def get_settings() -> Settings:
    return Settings()
