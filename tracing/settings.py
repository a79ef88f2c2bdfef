"""The tracing layer's settings: where traces go (MLflow, and an OTLP backend too) and how.

Each layer's settings class adds its own fields to the one below (`agent.settings`,
`service.settings`, then the doors'), with the same environment names as ever: a layer reads
only what it owns, and `.env.example` groups them the same way.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

NOT_CREDENTIALS = frozenset({"x-mlflow-experiment-id"})  # OTLP headers that name, not authorize


class TracingSettings(BaseSettings):
    """Read from the environment and an optional `.env` file; `.env.example` lists them all."""

    # `.env.example` lists every setting, most with an empty value: empty means "not set".
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True
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

    @property
    def ui_url(self) -> str | None:
        base = self.mlflow_ui_url
        if base is None and self.mlflow_tracking_uri.startswith(("http://", "https://")):
            base = self.mlflow_tracking_uri
        return base.rstrip("/") if base else None

    @property
    def registry_uri(self) -> str:
        return self.mlflow_registry_uri or self.mlflow_tracking_uri

    def secrets(self) -> list[str]:
        """Values that must never reach a client or a trace; each layer's class adds its own."""
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
        return unique([*values, *(c for c in credentials if len(c) >= 8)])


def unique(found: list[str | None]) -> list[str]:
    """The secrets found, each once."""
    return list(dict.fromkeys(s for s in found if s))


def url_password(url: str | None) -> str | None:
    """A password in a database's URL, unless too short to mask (it would blank every such
    string in every trace)."""
    password = urlsplit(url).password if url else None
    return password if password and len(password) >= 8 else None
