"""How the agent reads in a trace (agent/spans.py): node spans keep the state light."""

import json

from mlflow.entities import LiveSpan, SpanType
from opentelemetry.sdk.trace import TracerProvider

from agent.spans import lighten_state_spans


def chain_span(name: str) -> LiveSpan:
    tracer = TracerProvider().get_tracer("test")
    return LiveSpan(tracer.start_span(name), trace_id="tr-test", span_type=SpanType.CHAIN)


DOCUMENT = "Honeybees carry pollen between the flowers of one kind. " * 10
STATE = {
    "topic": "Bees",
    "target_words": 300,
    "research_messages": [
        {"type": "system", "content": "You research."},
        {"type": "ai", "content": "", "tool_calls": [{"name": "search_sources", "args": {}}]},
        {"type": "tool", "name": "search_sources", "content": DOCUMENT},
    ],
    "sources": [
        {
            "id": "honeybees",
            "title": "Honeybees",
            "passages": [{"source_id": "honeybees", "section": "Hives", "text": DOCUMENT}],
        }
    ],
    "draft": "# Bees\n\nBees hum [1].",
}


def test_a_node_span_keeps_small_fields_and_says_where_the_heavy_ones_are() -> None:
    span = chain_span("review")
    span.set_inputs(STATE)
    span.set_outputs({"review_messages": [{"type": "ai", "content": "ok"}], "editor_rounds": 1})
    lighten_state_spans(span)
    inputs = span.inputs
    assert DOCUMENT not in json.dumps(inputs)
    assert inputs["topic"] == "Bees" and inputs["target_words"] == 300
    assert inputs["research_messages"] == (
        "3 messages (system; ai call search_sources; result of search_sources); "
        "the text is on the ChatOpenAI and tool spans"
    )
    assert inputs["sources"] == [
        {"n": 1, "id": "honeybees", "title": "Honeybees", "passages": ["Hives"]}
    ]
    assert inputs["draft"].startswith("2 words;")  # headings are not prose
    assert span.outputs["editor_rounds"] == 1
    assert span.outputs["review_messages"].startswith("1 messages (ai)")


def test_the_draft_a_node_wrote_stays_in_its_output_and_other_spans_are_untouched() -> None:
    span = chain_span("draft")
    span.set_inputs({"topic": "Bees"})
    span.set_outputs({"draft": STATE["draft"], "research_messages": []})
    lighten_state_spans(span)
    assert span.outputs == {"draft": STATE["draft"], "research_messages": "no messages"}
    tool = LiveSpan(
        TracerProvider().get_tracer("test").start_span("read_source"),
        trace_id="tr-test",
        span_type=SpanType.TOOL,
    )
    tool.set_outputs({"sources": STATE["sources"]})
    lighten_state_spans(tool)
    assert tool.outputs == {"sources": STATE["sources"]}  # a tool's result is its own
