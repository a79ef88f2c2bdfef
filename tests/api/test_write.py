"""POST /write over real HTTP, and the trace it leaves in a real MLflow tracking server."""

from __future__ import annotations

import asyncio
import json

import httpx
from mlflow.entities import Trace

from agent.graph import build_graph
from testbed.servers import Server, traces_linked_to, wait_for_trace

# Every node but revise, which runs only when review asks for it, and amend, which runs only on
# a follow-up (tests/api/test_revise.py).
NODES_ALWAYS_RUN = tuple(
    n for n in build_graph().nodes if not n.startswith("__") and n not in ("revise", "amend")
)
RESEARCH_TOOLS = {"search_sources", "read_source"}
EDITOR_TOOLS = {"word_count", "readability", "check_citations"}


def spans_named(trace: Trace, name: str) -> list:
    return [s for s in trace.data.spans if s.name == name]


def test_write_returns_an_article_and_the_id_of_its_trace(api: Server, mlflow_url: str) -> None:
    answer = httpx.post(
        f"{api.url}/write",
        json={"topic": "How honeybees pollinate crops", "user_id": "ada", "session_id": "s-1"},
        headers={"X-Request-Id": "req-e2e-1"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    article = body["article"]
    assert article["title"] and article["markdown"].startswith("# ")
    assert len(article["sections"]) >= 2 and article["references"]
    assert (
        body["usage"]["total_tokens"]
        == body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
    )
    assert body["cost_usd"] is None  # the offline model has no price, and none is invented
    assert body["model"] == "offline-writer"
    assert answer.headers["X-Trace-Id"] == body["trace_id"]
    assert answer.headers["X-Request-Id"] == body["request_id"] == "req-e2e-1"
    assert body["prompts"] == [
        {"name": name, "version": 1, "alias": "production"}
        for name in (
            "article-amend",
            "article-draft",
            "article-grade",
            "article-plan",
            "article-research",
            "article-review",
            "article-revise",
        )
    ]

    trace = wait_for_trace(mlflow_url, body["trace_id"])
    assert trace.info.trace_id == body["trace_id"]
    assert trace.info.state.value == "OK"
    assert body["trace_url"] == (
        f"{mlflow_url}/#/experiments/{trace.info.experiment_id}/traces"
        f"?selectedEvaluationId={body['trace_id']}"
    )

    # One root, the request's AGENT span.
    roots = [s for s in trace.data.spans if s.parent_id is None]
    assert [(r.name, r.span_type) for r in roots] == [("write_article", "AGENT")]

    # Every executed node has its autolog span, and under it a state span with state.* numbers.
    by_id = {s.span_id: s for s in trace.data.spans}
    for node in ("plan", "research", "draft", "review", "finalize"):
        state_spans = spans_named(trace, f"{node}.state")
        assert state_spans, f"no state span for {node}"
        for span in state_spans:
            assert by_id[span.parent_id].name == node
            assert {"state.iteration", "state.sources", "state.research_rounds"} <= set(
                span.attributes
            )
    assert spans_named(trace, "plan.state")[0].attributes["state.sections"] >= 2
    assert spans_named(trace, "draft.state")[0].attributes["state.words"] > 100
    finalized = spans_named(trace, "finalize.state")[0].attributes
    assert finalized["state.sources"] >= len(article["references"])
    for node in NODES_ALWAYS_RUN:
        assert spans_named(trace, node), f"node {node} has no span"

    # Chat spans carry token usage; the trace's total is the response's usage.
    chats = [s for s in trace.data.spans if s.span_type == "CHAT_MODEL"]
    assert len(chats) >= 5
    for chat in chats:
        usage = chat.attributes["mlflow.chat.tokenUsage"]
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        assert chat.attributes["mlflow.llm.model"] == "offline-writer"
    assert trace.info.token_usage["total_tokens"] == body["usage"]["total_tokens"]

    # Tool spans for research and editing, with inputs and outputs.
    tools = [s for s in trace.data.spans if s.span_type == "TOOL"]
    assert {t.name for t in tools} >= RESEARCH_TOOLS | EDITOR_TOOLS
    search = next(t for t in tools if t.name == "search_sources")
    assert search.inputs["query"] and "source_id" in json.dumps(search.outputs)

    # Who asked, in which session, with which request id; what served it.
    metadata = trace.info.trace_metadata
    assert metadata["mlflow.trace.user"] == "ada"
    assert metadata["mlflow.trace.session"] == "s-1"
    assert metadata["llm.model"] == "offline-writer"
    assert metadata["llm.provider"] == "offline"
    assert metadata["app.version"]
    assert trace.info.client_request_id == "req-e2e-1"

    # The prompt versions it ran with are linked to it, and searchable.
    assert trace.info.tags["prompt.source"] == "registry"
    linked = json.loads(trace.info.tags["mlflow.linkedPrompts"])
    assert {"name": "article-plan", "version": "1"} in linked
    linked = traces_linked_to(
        mlflow_url, trace.info.experiment_id, "article-plan/1", body["trace_id"]
    )
    assert body["trace_id"] in linked


async def test_concurrent_requests_get_separate_traces(api: Server, mlflow_url: str) -> None:
    topics = [
        "How honeybees pollinate crops",
        "Urban heat islands",
        "The printing press",
        "Solar power and grid storage",
        "Sleep and caffeine",
        "Sourdough fermentation",
        "Distributed tracing",
        "Coral reefs and ocean acidification",
        "Roman aqueducts",
        "Plate tectonics",
    ]
    async with httpx.AsyncClient(base_url=api.url, timeout=120) as client:
        answers = await asyncio.gather(
            *(client.post("/write", json={"topic": topic}) for topic in topics)
        )
    assert [a.status_code for a in answers] == [200] * len(topics)
    trace_ids = [a.json()["trace_id"] for a in answers]
    assert len(set(trace_ids)) == len(topics)

    for topic, trace_id in zip(topics, trace_ids, strict=True):
        trace = wait_for_trace(mlflow_url, trace_id)
        assert len([s for s in trace.data.spans if s.parent_id is None]) == 1
        assert all(s.trace_id == trace_id for s in trace.data.spans)
        # Every model call in this trace saw this request's topic, and no other.
        for chat in (s for s in trace.data.spans if s.span_type == "CHAT_MODEL"):
            prompt = json.dumps(chat.inputs)
            others = [t for t in topics if t != topic and f"Topic: {t}\\n" in prompt]
            assert not others, f"{trace_id} holds a span of another request: {others}"
        plan_chat = next(
            s
            for s in trace.data.spans
            if s.span_type == "CHAT_MODEL" and "Background passages" in json.dumps(s.inputs)
        )
        assert f"Topic: {topic}" in json.dumps(plan_chat.inputs)
