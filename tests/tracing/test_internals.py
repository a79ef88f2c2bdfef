"""Every library internal the app relies on, checked against the installed versions.

A failure here after an upgrade names the internal that changed: fix it in tracing/internals.py
(or agent/graph.py for LangGraph's behaviour), then move the version caps in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import mlflow
import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langgraph.graph import END, START, StateGraph
from mlflow.entities import LiveSpan, SpanEvent
from mlflow.tracing.distributed import set_tracing_context_from_http_request_headers
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanContext, TraceFlags

from agent.context import Bounds
from agent.graph import Route
from tracing import internals


def live_span() -> LiveSpan:
    return LiveSpan(TracerProvider().get_tracer("test").start_span("call"), trace_id="tr-test")


def test_raw_attributes_are_the_json_strings_mlflow_stores() -> None:
    span = live_span()
    span.set_attribute("conversation", {"messages": ["hello"]})
    assert json.loads(internals.raw_attributes(span)["conversation"]) == {"messages": ["hello"]}


def test_inputs_and_outputs_are_read_as_the_json_mlflow_stores() -> None:
    span = live_span()
    span.set_inputs({"topic": "Bees"})
    span.set_outputs(["done"])
    inputs, outputs = internals.raw_inputs_outputs(span)
    assert json.loads(inputs) == {"topic": "Bees"} and json.loads(outputs) == ["done"]


def test_an_ended_span_says_so() -> None:
    span = live_span()
    assert not internals.has_ended(span)
    span.end()
    assert internals.has_ended(span)


def test_events_can_be_dropped_by_name_and_the_rest_kept() -> None:
    span = live_span()
    for name in ("new_token", "fallback", "new_token"):
        span.add_event(SpanEvent(name))  # type: ignore[abstract]
    assert internals.drop_events(span, "new_token") == 2
    assert [event.name for event in span._span.events] == ["fallback"]
    span.add_event(SpanEvent("after"))  # type: ignore[abstract]  # the list still takes events
    assert [event.name for event in span._span.events] == ["fallback", "after"]


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[None]:
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/internals.db")
    # An experiment of this store: one an earlier test made active belongs to another store.
    mlflow.set_experiment("internals")
    mlflow.tracing.enable()
    yield
    mlflow.set_tracking_uri(previous)


def test_mlflow_holds_open_traces_in_memory_until_their_root_ends(traced: None) -> None:
    before = internals.traces_in_memory()
    with mlflow.start_span("root") as root, mlflow.start_span("child") as child:
        held = {span.span_id for span in internals.spans_in_memory(root.trace_id)}
        assert held == {root.span_id, child.span_id}
        assert internals.traces_in_memory() == before + 1
    mlflow.flush_trace_async_logging()  # exported, and so let go
    assert internals.spans_in_memory(root.trace_id) == []
    assert internals.traces_in_memory() == before


def callers_context() -> tuple[int, str, dict[str, str]]:
    trace_hex, span_hex = secrets.token_hex(16), secrets.token_hex(8)
    return int(trace_hex, 16), span_hex, {"traceparent": f"00-{trace_hex}-{span_hex}-01"}


def test_mlflow_forgets_a_remote_trace_when_its_block_ends(traced: None) -> None:
    """Why the app holds a caller's trace itself: MLflow's record of it ends with the block,
    before its background exporter has sent the spans."""
    otel_id, _, carrier = callers_context()
    with set_tracing_context_from_http_request_headers(carrier), mlflow.start_span("c") as span:
        assert internals.spans_in_memory(span.trace_id)
    assert internals.spans_in_memory(span.trace_id) == []
    assert internals.take_remote_trace(otel_id) is None


def test_a_held_remote_trace_is_taken_whole_and_stored_under_the_callers_id(
    traced: None,
) -> None:
    otel_id, span_hex, _ = callers_context()
    parent = SpanContext(otel_id, int(span_hex, 16), is_remote=True, trace_flags=TraceFlags(1))
    with internals.remote_parent(parent):
        held = internals.hold_remote_trace(otel_id, 0)
        with mlflow.start_span("root") as root, mlflow.start_span("child"):
            mlflow.update_current_trace(user="ada", request_preview="asked")
        taken = internals.take_remote_trace(otel_id)
    assert taken is not None
    trace, prompts = taken
    assert trace.info.trace_id == held == root.trace_id == f"tr-{otel_id:032x}"
    assert trace.info.request_time == root.start_time_ns // 1_000_000  # the root's, not 0
    assert trace.info.state.value == "OK" and prompts == []
    assert internals.spans_in_memory(held) == []  # MLflow's exporter now skips it
    internals.store_trace(trace, prompts)
    stored = mlflow.MlflowClient().get_trace(held)
    assert internals.info_finalized(stored.info) and internals.recorded_span_count(stored.info) == 2
    assert stored.info.trace_metadata["mlflow.trace.user"] == "ada"
    assert stored.info.request_preview == "asked"
    assert {span.name: span.parent_id for span in stored.data.spans} == {
        "root": span_hex,
        "child": root.span_id,
    }


def test_mlflow_computes_trace_metrics_over_stored_spans(traced: None) -> None:
    with mlflow.start_span("root") as root:
        for _ in range(3):
            with mlflow.start_span("search", span_type="TOOL"):
                pass
    mlflow.flush_trace_async_logging()
    experiment = mlflow.MlflowClient().get_trace(root.trace_id).info.experiment_id
    rows = internals.trace_metrics(
        mlflow.get_tracking_uri(),
        experiment,
        "SPANS",
        "latency",
        ["P50", "MAX"],
        ["span_name"],
        ["span.type = 'TOOL'"],
        0,
        root.end_time_ns // 1_000_000 + 1,
    )
    assert [dims for dims, _ in rows] == [{"span_name": "search"}]
    assert set(rows[0][1]) == {"P50.0", "MAX"}


def test_a_stored_trace_says_it_is_finalized_and_how_many_spans_it_was_sent_with(
    traced: None,
) -> None:
    with mlflow.start_span("root") as root, mlflow.start_span("child"):
        pass
    mlflow.flush_trace_async_logging()
    info = mlflow.MlflowClient().get_trace(root.trace_id).info
    assert internals.info_finalized(info), info.trace_metadata
    assert internals.recorded_span_count(info) == 2, info.trace_metadata
    bare = dataclasses.replace(info, trace_metadata={})  # as before the exporter's last call
    assert not internals.info_finalized(bare)
    assert internals.recorded_span_count(bare) is None


def test_the_exporter_still_says_what_it_dropped_in_these_words() -> None:
    sources = ""
    for name in internals.EXPORT_LOGGERS:
        module = importlib.import_module(name)
        assert logging.getLogger(name).name == module.__name__
        sources += inspect.getsource(module)
    assert "Failed to send trace" in sources
    assert internals.says_trace_dropped("Failed to send trace to MLflow backend: timeout")
    assert "queue is full" in sources
    assert internals.says_queue_full("Trace export queue is full, trace will be discarded.")


def test_mlflow_prices_known_models_and_not_unknown_ones() -> None:
    price = internals.price_usd("gpt-4o-mini", 1_000_000, 0, "openai")
    assert price is not None and 0.01 < price < 10
    assert internals.price_usd("offline-writer", 1000, 1000, "openai") is None


def test_a_bundled_prompt_formats_as_a_registered_one_would() -> None:
    version = internals.prompt_version(
        "article-plan", 0, [{"role": "user", "content": "Plan {{ topic }}."}], "plan", {}
    )
    assert version.format(topic="bees") == [{"role": "user", "content": "Plan bees."}]
    assert version.model_config is None


def test_a_missing_gateway_endpoint_is_told_apart_from_other_misses() -> None:
    # The server's words are checked end to end in tests/evals/test_monitor.py.
    assert internals.NOT_FOUND == "RESOURCE_DOES_NOT_EXIST"
    assert internals.is_missing_gateway_endpoint(
        "RESOURCE_DOES_NOT_EXIST", "Gateway endpoint 'x' not found"
    )
    assert not internals.is_missing_gateway_endpoint("RESOURCE_DOES_NOT_EXIST", "Run not found")


# --- LangGraph behaviour agent/graph.py relies on ----------------------------------------


class Toy(TypedDict, total=False):
    seen: int


RUN_BOUNDS = Bounds(research_rounds=1, editor_rounds=1, revisions=0)


@dataclass(frozen=True)
class ToyContext:
    bounds: Bounds = RUN_BOUNDS


class Runs(AsyncCallbackHandler):
    """The names of the runs LangGraph reports to callbacks: each would be a span."""

    def __init__(self) -> None:
        self.names: list[str] = []

    async def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        self.names.append(kwargs.get("name") or "")


def toy_graph(step_timeout: float | None, tasks: list[Any] | None = None) -> Any:
    async def node(state: Toy) -> Toy:
        if tasks is not None:  # the task objects themselves: a freed task's id() is reused
            tasks.append(asyncio.current_task())
        return {}

    def choose(state: Toy, bounds: Bounds) -> str:
        assert bounds == RUN_BOUNDS  # the run's own, from its context
        return "b"

    graph = StateGraph(Toy, context_schema=ToyContext)
    graph.add_node("a", node)
    graph.add_node("b", node)
    graph.add_edge(START, "a")
    graph.add_conditional_edges("a", Route(choose), ["b"])
    graph.add_edge("b", END)
    compiled = graph.compile()
    compiled.step_timeout = step_timeout
    return compiled


async def test_a_route_is_called_without_callbacks_but_with_the_runs_context() -> None:
    runs = Runs()
    await toy_graph(None).ainvoke({}, {"callbacks": [runs]}, context=ToyContext())
    assert "a" in runs.names and "b" in runs.names
    assert "choose" not in runs.names  # a plain function would be a run of its own


async def test_a_step_timeout_runs_every_node_in_a_task_of_its_own() -> None:
    """What graph.py sets the bound for: with autolog's inline tracer, a node run in the task
    of the one before it nested under it (seen in the app's traces; this toy graph, without
    the tracer's callbacks, gets a task per node either way)."""
    caller = asyncio.current_task()
    timed: list[Any] = []
    await toy_graph(30, timed).ainvoke({}, context=ToyContext())
    assert len(timed) == 2 and timed[0] is not timed[1] and caller not in timed


def test_mlflow_derives_the_apps_previews_from_the_root_span() -> None:
    from service import trace_record
    from service.request import WriteRequest

    request = WriteRequest(topic="Bees", audience="gardeners")
    inputs = trace_record.root_inputs(request)
    assert internals.derived_preview(inputs, "user") == trace_record.request_preview(request)
    outputs = trace_record.root_outputs("Bees at Work", 612, 3)
    assert internals.derived_preview(outputs, "assistant") == "Bees at Work (612 words)"


async def test_the_sqlite_store_begins_its_batches_with_the_statement_rewritten(
    tmp_path: Path,
) -> None:
    import aiosqlite
    from langgraph.store.sqlite.aio import AsyncSqliteStore

    async with aiosqlite.connect(tmp_path / "store.db", isolation_level=None) as db:
        wrapped = internals.ImmediateTransactions(db)
        store = AsyncSqliteStore(wrapped)  # type: ignore[arg-type]
        await store.setup()
        await store.aput(("s",), "k", {"v": 1})
        assert await store.aget(("s",), "k") is not None
    assert wrapped.begun >= 2  # each batch: the store still says a bare BEGIN
