import os

import pytest

from agent import tracing


def test_mlflow_settings_reach_mlflow_through_the_environment(
    monkeypatch: pytest.MonkeyPatch, untraced
) -> None:
    for name in tracing.MLFLOW_ENV:
        monkeypatch.delenv(name, raising=False)
    untraced(mlflow_trace_timeout_seconds=42)
    assert os.environ["MLFLOW_TRACE_TIMEOUT_SECONDS"] == "42"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"


class FakeSpan:
    def __init__(self, attributes: dict) -> None:
        self.attributes = attributes

    def set_attribute(self, key: str, value: object) -> None:
        self.attributes[key] = value


def test_the_redactor_masks_configured_secrets_and_key_shapes() -> None:
    span = FakeSpan(
        {
            "mlflow.spanInputs": {"headers": {"Authorization": "Bearer my-secret-value"}},
            "note": "key sk-abcdefghijklmnopqrstuvwx leaked",
            "safe": 3,
        }
    )
    tracing.redactor(["my-secret-value"])(span)  # type: ignore[arg-type]
    assert span.attributes == {
        "mlflow.spanInputs": {"headers": {"Authorization": "Bearer [REDACTED]"}},
        "note": "key [REDACTED] leaked",
        "safe": 3,
    }
