"""Every setting of the app, for the `writer` commands: the layers' below, plus `writer up`'s
tracking server. `.env.example` lists them all, grouped by layer."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from api.settings import ApiSettings
from evals.settings import EvalSettings
from tracing.settings import unique, url_password


class Settings(ApiSettings, EvalSettings):
    # --- `writer up`: the MLflow tracking server ------------------------------------------
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

    def secrets(self) -> list[str]:
        return unique([*super().secrets(), url_password(self.mlflow_backend_store_uri)])


@lru_cache
def get_settings() -> Settings:
    return Settings()
