"""The API's settings: where it listens, who may call it and how often, and HTTP's bounds."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from api.security import keys
from service.settings import ServiceSettings
from tracing.settings import unique, url_password


class ApiSettings(ServiceSettings):
    # --- requests -------------------------------------------------------------------------
    max_body_bytes: int = Field(16_384, ge=1024, description="Larger request bodies get 413.")
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

    # --- serving --------------------------------------------------------------------------
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
    runtime_stats_enabled: bool = Field(False, description="Serve GET /debug/runtime.")
    sse_ping_seconds: float = Field(15, gt=0, description="Heartbeat comment on idle streams.")
    shutdown_grace_seconds: int = Field(
        30, gt=0, description="On SIGTERM, how long requests in flight get to finish."
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

    def secrets(self) -> list[str]:
        return unique([*super().secrets(), url_password(self.rate_limit_url)])


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
