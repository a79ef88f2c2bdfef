"""How the agent reads in a trace: a state span for every node, with the numbers a reader wants
per step, and the graph's state kept light on the spans autolog gives each node.

`traced_node` is the manual span every node carries beside autolog's; `PROCESSORS` are the span
processors the service layer hands `tracing.configure`.
"""

from __future__ import annotations

import functools
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import mlflow
from mlflow.entities import LiveSpan, SpanType
from mlflow.entities.span import NoOpSpan

from agent import citations
from agent.state import Article
from tracing import NODE_SPAN, internals

NodeFn = Callable[..., Awaitable[dict[str, Any]]]


def state_attributes(state: dict[str, Any]) -> dict[str, Any]:
    """The numbers a reader of the trace wants per step."""
    attrs: dict[str, Any] = {
        "state.iteration": state.get("revisions", 0),
        "state.research_rounds": state.get("research_rounds", 0),
        "state.sources": len(state.get("sources") or []),
    }
    if coverage := state.get("coverage"):
        attrs["state.coverage"] = coverage.verdict
        attrs["state.coverage_score"] = coverage.score
    if outline := state.get("outline"):
        attrs["state.sections"] = len(outline.sections)
    if draft := state.get("draft"):
        attrs["state.words"] = citations.count_words(draft)
    if amendment := state.get("amendment"):
        attrs["state.amendment"] = amendment.action
    if verdict := state.get("verdict"):
        attrs["state.decision"] = verdict.decision
        attrs["state.issues"] = len(verdict.issues)
    return attrs


def _preview(value: Any) -> Any:
    if isinstance(value, list):
        return f"{len(value)} item(s)"
    if isinstance(value, str) and len(value) > 300:
        return value[:300] + "..."
    if isinstance(value, Article):  # its text is the node span's output
        return f"{value.title} ({value.word_count} words)"
    if hasattr(value, "model_dump"):
        return value.model_dump()
    return value


def traced_node(name: str) -> Callable[[NodeFn], NodeFn]:
    """Wraps a graph node in a manual span that records the state the node leaves behind.

    Autolog already gives each node a span with its raw inputs and outputs; this one adds the
    `state.*` attributes that make a trace readable at a glance.
    """

    def decorate(node: NodeFn) -> NodeFn:
        @functools.wraps(node)
        async def run(state: dict[str, Any], runtime: Any) -> dict[str, Any]:
            with mlflow.start_span(f"{name}.state", span_type=SpanType.CHAIN) as span:
                NODE_SPAN.set(span)  # the node runs in a task of its own: this stays in it
                if isinstance(span, NoOpSpan):  # untraced: no summary is worth computing
                    return await node(state, runtime)
                span.set_inputs(state_attributes(state))
                started = time.perf_counter()
                update = await node(state, runtime)
                span.set_attributes(state_attributes({**state, **update}))
                span.set_attribute("node.seconds", round(time.perf_counter() - started, 4))
                span.set_outputs({key: _preview(value) for key, value in update.items()})
                return update

        return run

    return decorate


# State fields whose text lives elsewhere in the trace: conversations on the chat and tool
# spans, passages on the tool spans that returned them. The draft and the article are kept
# where a node wrote them and summarised where the whole state is repeated.
CONVERSATIONS = ("research_messages", "review_messages")
ELSEWHERE = "the text is on the ChatOpenAI and tool spans"


def _message_kind(message: dict[str, Any]) -> str:
    kind = str(message.get("type", "message"))
    if kind == "tool":
        return f"result of {message.get('name') or 'a tool'}"
    if calls := message.get("tool_calls"):
        return "ai call " + ", ".join(str(c.get("name")) for c in calls)
    return kind


def summarise_messages(messages: list[Any]) -> str:
    kinds = Counter(_message_kind(m) if isinstance(m, dict) else "message" for m in messages)
    listed = "; ".join(f"{kind} x{n}" if n > 1 else kind for kind, n in kinds.items())
    return f"{len(messages)} messages ({listed}); {ELSEWHERE}" if messages else "no messages"


def summarise_sources(sources: list[Any]) -> list[Any]:
    """Each source by number, id and title, with the sections of the passages it holds."""
    return [
        {
            "n": n,
            "id": s.get("id"),
            "title": s.get("title"),
            "passages": [p.get("section") for p in s.get("passages") or []],
        }
        if isinstance(s, dict)
        else s
        for n, s in enumerate(sources, 1)
    ]


def summarise_state(value: Any, *, whole: bool) -> Any:
    """A state or an update with heavy fields summarised; `whole` (the entire state, not one
    node's update) also summarises the draft and the article, which their nodes' outputs hold."""
    if not isinstance(value, dict):
        return value
    light = dict(value)
    for key in CONVERSATIONS:
        if isinstance(light.get(key), list):
            light[key] = summarise_messages(light[key])
    if isinstance(light.get("sources"), list):
        light["sources"] = summarise_sources(light["sources"])
    if whole and isinstance(draft := light.get("draft"), str):
        words = citations.count_words(draft)
        light["draft"] = f"{words} words; the text is on the draft or revise span's output"
    if whole and isinstance(article := light.get("article"), dict):
        light["article"] = (
            f"{article.get('title')} ({article.get('word_count')} words); the text is on the "
            "finalize span's output"
        )
    return light


STATE_KEYS = frozenset({*CONVERSATIONS, "sources", "draft", "article"})


def lighten_state_spans(span: LiveSpan) -> None:
    """A span processor that keeps each text in the one span a reader expects it in.

    Autolog gives each LangGraph node (and the graph) a span whose inputs are the whole state:
    the research conversation with every document the tools returned, the sources, the draft.
    Stored again on every node, that was most of a trace. Here a node's inputs keep the small
    fields and summarise the heavy ones; its outputs (the state change it made) keep the draft
    or article it wrote, with conversations and sources summarised.
    """
    if span.span_type != SpanType.CHAIN:
        return
    inputs, outputs = internals.raw_inputs_outputs(span)
    if isinstance(inputs, str) and any(f'"{key}"' in inputs for key in STATE_KEYS):
        span.set_inputs(summarise_state(json.loads(inputs), whole=True))
    if isinstance(outputs, str) and any(f'"{key}"' in outputs for key in STATE_KEYS):
        decoded = json.loads(outputs)
        whole = isinstance(decoded, dict) and "topic" in decoded  # the graph's final state
        span.set_outputs(summarise_state(decoded, whole=whole))


PROCESSORS: tuple[Callable[[LiveSpan], None], ...] = (lighten_state_spans,)
