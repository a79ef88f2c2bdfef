import json
import os

import pytest
from mlflow.entities import LiveSpan, SpanType
from opentelemetry.sdk.trace import TracerProvider

import tracing
from api.security import keys


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


def test_an_api_key_is_masked_wherever_it_was_pasted() -> None:
    # The server holds only digests of its keys: it knows a key by its shape.
    key = keys.new_key()
    span = LiveSpan(TracerProvider().get_tracer("test").start_span("call"), trace_id="tr-test")
    span.set_inputs({"topic": f"bees {key} and wasps"})
    tracing.redactor([])(span)
    assert span.inputs == {"topic": "bees [REDACTED] and wasps"}


def test_a_short_key_is_never_masked_so_traces_stay_readable() -> None:
    # A local server takes any key; a one-letter one must not garble every "x" in the trace.
    span = LiveSpan(TracerProvider().get_tracer("test").start_span("call"), trace_id="tr-test")
    span.set_inputs({"text": "the example text"})
    tracing.redactor(["x", "short"])(span)
    assert span.inputs == {"text": "the example text"}


def chain_span(name: str) -> LiveSpan:
    tracer = TracerProvider().get_tracer("test")
    return LiveSpan(tracer.start_span(name), trace_id="tr-test", span_type=SpanType.CHAIN)


def test_a_tool_result_is_stored_once_its_artifact_keeping_the_fields_but_the_text() -> None:
    tool = LiveSpan(
        TracerProvider().get_tracer("test").start_span("search_sources"),
        trace_id="tr-test",
        span_type=SpanType.TOOL,
    )
    passage = {"source_id": "honeybees", "section": "Hives", "text": "Bees\nhum."}
    tool.set_outputs({"content": json.dumps([passage]), "artifact": [passage]})
    tracing.fold_tool_artifacts(tool)
    assert tool.outputs["artifact"] == [{"source_id": "honeybees", "section": "Hives"}]
    other = {"content": "something else", "artifact": [passage]}
    tool.set_outputs(other)
    tracing.fold_tool_artifacts(tool)
    assert tool.outputs == other  # an artifact the content does not repeat is kept whole
