"""What a run reports while it works, as the SSE stream and the CLI show it."""

from __future__ import annotations

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage

from service import events
from service.events import PREVIEW_CHARS, Event

CALLS = AIMessage(
    "",
    tool_calls=[
        {"name": "search_sources", "args": {"query": "bees", "k": 3}, "id": "1"},
        {"name": "read_source", "args": {"source_id": "honeybees"}, "id": "2"},
    ],
)


def test_a_tool_node_starting_announces_each_call_it_will_run() -> None:
    started = events.node_started("research_tools", {"research_messages": [CALLS]})
    assert started == [
        Event("node", {"node": "research_tools", "status": "start"}),
        Event(
            "tool",
            {
                "node": "research_tools",
                "tool": "search_sources",
                "args": {"query": "bees", "k": 3},
                "status": "start",
            },
        ),
        Event(
            "tool",
            {
                "node": "research_tools",
                "tool": "read_source",
                "args": {"source_id": "honeybees"},
                "status": "start",
            },
        ),
    ]
    # A model node announces itself only; so does a tool node with nothing to run.
    assert events.node_started("draft", {"research_messages": [CALLS]}) == [
        Event("node", {"node": "draft", "status": "start"})
    ]
    assert len(events.node_started("editor_tools", {"review_messages": [HumanMessage("x")]})) == 1


def test_a_tool_node_ending_previews_each_result_and_says_which_failed() -> None:
    long = "word " * 100
    update = {
        "research_messages": [
            ToolMessage(long, name="search_sources", tool_call_id="1"),
            ToolMessage(
                "No source has id 'x'", name="read_source", tool_call_id="2", status="error"
            ),
        ]
    }
    finished = events.node_finished("research_tools", update, {"research_rounds": 1})
    search, read, node = finished
    assert search.data["status"] == "end" and search.data["tool"] == "search_sources"
    assert search.data["result_preview"] == long[:PREVIEW_CHARS] + "..."
    assert read.data == {
        "node": "research_tools",
        "tool": "read_source",
        "status": "error",
        "result_preview": "No source has id 'x'",
    }
    # The node's end carries the state summary without the `state.` prefix of the span.
    assert node.kind == "node" and node.data["status"] == "end"
    assert node.data["state"]["research_rounds"] == 1 and "sources" in node.data["state"]


def test_only_the_writing_nodes_text_is_streamed_as_tokens() -> None:
    text = AIMessageChunk("Bees ")
    assert events.token(text, {"langgraph_node": "draft"}) == Event(
        "token", {"node": "draft", "text": "Bees "}
    )
    assert events.token(text, {"langgraph_node": "revise"}) is not None
    assert events.token(text, {"langgraph_node": "plan"}) is None  # JSON, not the article
    assert events.token(AIMessageChunk(""), {"langgraph_node": "draft"}) is None  # a tool call
    assert events.token(AIMessage("whole"), {"langgraph_node": "draft"}) is None
