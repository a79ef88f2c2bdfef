"""Where the writer's chat client sends its calls: from settings only, never the environment.

The OpenAI client falls back to OPENAI_BASE_URL (and LangChain to OPENAI_API_BASE) when given
no base URL; the eval judges may set those for their own endpoint, and the writer must not
follow them there.
"""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from cli.settings import Settings
from service.llm import OFFLINE_BASE_URL, chat_model, context_window

ELSEWHERE = "http://judge.invalid:9999/v1"


@pytest.fixture(autouse=True)
def judges_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.setenv(name, ELSEWHERE)


def base_url(settings: Settings) -> str:
    return str(chat_model(settings).root_async_client.base_url).rstrip("/")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Given explicitly: OPENAI_BASE_URL is also this setting's own variable.
        ({"openai_api_key": "sk-test", "openai_base_url": None}, "https://api.openai.com/v1"),
        ({"openai_base_url": "http://localhost:11434/v1"}, "http://localhost:11434/v1"),
    ],
)
def test_openai_base_url_comes_from_settings_not_the_environment(
    values: dict[str, str | None], expected: str
) -> None:
    settings = Settings(_env_file=None, llm_model="openai:gpt-4o-mini", **values)  # type: ignore[arg-type]
    assert base_url(settings) == expected


def test_the_gateway_is_the_tracking_servers_openai_passthrough() -> None:
    settings = Settings(
        _env_file=None, llm_model="gateway:writer-chat", mlflow_tracking_uri="http://mlflow:5000/"
    )
    llm = chat_model(settings)
    assert base_url(settings) == "http://mlflow:5000/gateway/openai/v1"
    assert llm.model_name == "writer-chat"  # the endpoint, which the gateway reads from `model`
    # No key of the app's travels to the gateway, which holds the provider's own.
    assert isinstance(llm.openai_api_key, SecretStr)
    assert llm.openai_api_key.get_secret_value() == "not-needed"
    # Its endpoints do not say their models' context window; nothing is asked.
    assert asyncio.run(context_window(llm)) is None


def test_an_openai_key_is_not_sent_to_the_gateway() -> None:
    settings = Settings(
        _env_file=None,
        llm_model="gateway:writer-chat",
        mlflow_tracking_uri="http://mlflow:5000",
        openai_api_key="sk-should-stay-home-0123456789",
    )
    key = chat_model(settings).openai_api_key
    assert isinstance(key, SecretStr) and key.get_secret_value() == "not-needed"


def test_offline_ignores_the_environment_too() -> None:
    assert base_url(Settings(_env_file=None)) == OFFLINE_BASE_URL
