import os

import pytest
from mlflow.entities import LiveSpan
from opentelemetry.sdk.trace import TracerProvider

from agent import tracing


def test_mlflow_settings_reach_mlflow_through_the_environment(
    monkeypatch: pytest.MonkeyPatch, untraced
) -> None:
    for name in tracing.MLFLOW_ENV:
        monkeypatch.delenv(name, raising=False)
    untraced(mlflow_trace_timeout_seconds=42)
    assert os.environ["MLFLOW_TRACE_TIMEOUT_SECONDS"] == "42"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"


def test_the_redactor_masks_configured_secrets_and_key_shapes() -> None:
    span = LiveSpan(TracerProvider().get_tracer("test").start_span("call"), trace_id="tr-test")
    span.set_inputs({"headers": {"Authorization": "Bearer my-secret-value"}})
    span.set_attribute("note", "key sk-abcdefghijklmnopqrstuvwx leaked")
    span.set_attribute("safe", 3)
    tracing.redactor(["my-secret-value"])(span)
    assert span.inputs == {"headers": {"Authorization": "Bearer [REDACTED]"}}
    assert span.get_attribute("note") == "key [REDACTED] leaked"
    assert span.get_attribute("safe") == 3


def test_a_short_key_is_never_masked_so_traces_stay_readable() -> None:
    # A local server takes any key; a one-letter one must not garble every "x" in the trace.
    span = LiveSpan(TracerProvider().get_tracer("test").start_span("call"), trace_id="tr-test")
    span.set_inputs({"text": "the example text"})
    tracing.redactor(["x", "short"])(span)
    assert span.inputs == {"text": "the example text"}
