"""A stored article trace holds each text once, in the span a reader looks for it in."""

from __future__ import annotations

import json

import httpx
from mlflow.entities import SpanType

from agent.research.sources import SourceLibrary
from agent.settings import BUNDLED_SOURCES
from testbed.servers import Server, wait_for_trace

# Where a source document's text belongs: the tool or retriever span that returned it, and the
# chat spans whose requests carried it to the model.
CARRIERS = {SpanType.TOOL, SpanType.RETRIEVER, SpanType.CHAT_MODEL}
MAX_TRACE_KIB = 250


def test_documents_are_stored_only_where_they_were_returned_or_sent(
    api: Server, mlflow_url: str
) -> None:
    answer = httpx.post(
        f"{api.url}/write", json={"topic": "How honeybees pollinate crops"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    trace = wait_for_trace(mlflow_url, answer.json()["trace_id"])
    spans = trace.data.spans
    texts = [p.text for p in SourceLibrary(BUNDLED_SOURCES).passages if len(p.text) > 200]

    def quoted(span_io: object) -> int:
        blob = json.dumps(span_io, ensure_ascii=False, default=str)
        return sum(1 for t in texts if json.dumps(t, ensure_ascii=False)[1:-1] in blob)

    holders = {s.name: s.span_type for s in spans if quoted([s.inputs, s.outputs])}
    assert holders, "the research tools' spans hold the passages they returned"
    assert {"search_sources", "read_source", "ChatOpenAI"} <= set(holders)
    assert {name for name, kind in holders.items() if kind not in CARRIERS} == set()

    # Every state change is still readable on the node spans: what research found, by id.
    research = [s for s in spans if s.name == "research"][-1]
    found = research.outputs["sources"]
    assert found and {"n", "id", "title", "passages"} == set(found[0])
    draft = next(s for s in spans if s.name == "draft")
    assert draft.outputs["draft"].startswith("# ")  # the text a node wrote stays on its span
    finalize = next(s for s in spans if s.name == "finalize")
    assert finalize.outputs["article"]["markdown"] == answer.json()["article"]["markdown"]

    stored = sum(len(json.dumps(s.to_dict()).encode()) for s in spans)
    assert stored <= MAX_TRACE_KIB * 1024, f"{stored / 1024:.0f} KiB"
