from pathlib import Path

import pytest
from pydantic import ValidationError

from cli.settings import Settings


def test_defaults_work_offline() -> None:
    settings = Settings(_env_file=None)
    assert (settings.provider, settings.model_name) == ("offline", "offline-writer")
    assert settings.secrets() == []
    assert settings.ui_url is None  # sqlite tracking: no UI to link to by default


def test_http_tracking_uri_doubles_as_the_ui_base() -> None:
    settings = Settings(_env_file=None, mlflow_tracking_uri="http://127.0.0.1:5000/")
    assert settings.ui_url == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"llm_model": "anthropic:claude"}, "must be 'offline', 'openai:<model>' or 'gateway:"),
        ({"llm_model": "openai:"}, "must be 'offline', 'openai:<model>' or 'gateway:"),
        ({"llm_model": "gateway:"}, "name the AI Gateway endpoint after 'gateway:'"),
        ({"llm_model": "gateway:my endpoint"}, "letters, digits, '_', '-' and '.' only"),
        # The gateway is a route of a tracking server; the default sqlite file has none.
        ({"llm_model": "gateway:writer-chat"}, "MLFLOW_TRACKING_URI must be that server's"),
        (
            {"llm_model": "gateway:writer-chat", "mlflow_tracking_uri": "file:///tmp/mlruns"},
            "not 'file:///tmp/mlruns'",
        ),
        ({"llm_model": "openai:gpt-4o-mini"}, "needs OPENAI_API_KEY"),
        ({"max_revisions": 9}, "less than or equal to 5"),
        # 60 s x 4 attempts and the waits between them cannot fit in a 120 s step.
        ({"llm_timeout_seconds": 60, "llm_max_retries": 3}, "longer than STEP_TIMEOUT_SECONDS"),
    ],
)
def test_bad_settings_say_what_to_set(values: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, **values)


def test_openai_compatible_server_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_MODEL", "openai:llama3.1")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "")  # as copied from .env.example
    settings = Settings(_env_file=None)
    assert settings.model_name == "llama3.1" and settings.openai_api_key is None


def test_every_setting_is_listed_in_env_example_and_the_readme() -> None:
    root = Path(__file__).resolve().parents[2]
    example = (root / ".env.example").read_text()
    readme = (root / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"\n{name.upper()}=" in example, f"{name.upper()} missing from .env.example"
        assert f"`{name.upper()}`" in readme, f"{name.upper()} missing from the README"


def test_a_gateway_endpoint_is_the_model_and_needs_no_key() -> None:
    settings = Settings(
        _env_file=None,
        llm_model="gateway:writer-chat.v2",
        mlflow_tracking_uri="https://mlflow.example.com",
    )
    assert (settings.provider, settings.model_name) == ("gateway", "writer-chat.v2")
    assert settings.openai_api_key is None and settings.secrets() == []


def test_an_otlp_backends_headers_are_secrets_like_a_key() -> None:
    settings = Settings(
        _env_file=None,
        otel_exporter_otlp_traces_endpoint="http://collector:4318/v1/traces",
        otel_exporter_otlp_traces_headers="authorization=Bearer tok-0123456789,"  # type: ignore[arg-type]
        "x-mlflow-experiment-id=12,x-team=a",
    )
    assert settings.secrets() == ["Bearer tok-0123456789", "tok-0123456789"]
    assert "tok-0123456789" not in repr(settings)


def test_a_password_in_a_database_url_is_a_secret() -> None:
    settings = Settings(
        _env_file=None,
        checkpoint_url="postgresql://writer:pg-pass-0123@db:5432/sessions",
        rate_limit_url="redis://:redis-pass-0123@cache:6379/0",
        mlflow_backend_store_uri="postgresql://mlflow:mlflow-pass-0123@db:5432/mlflow",
    )
    assert settings.secrets() == ["pg-pass-0123", "redis-pass-0123", "mlflow-pass-0123"]


def test_the_rate_limit_store_must_be_a_redis() -> None:
    with pytest.raises(ValidationError, match="RATE_LIMIT_URL='memcached://x'"):
        Settings(_env_file=None, rate_limit_url="memcached://x")
