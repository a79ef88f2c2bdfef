import json

from agent.research.sources import SourceLibrary
from agent.settings import BUNDLED_SOURCES
from agent.state import Source
from agent.tools import EDITOR_TOOLS, RESEARCH_TOOLS
from tests.agent.runs import tool_runtime


async def test_research_tools_answer_json_and_keep_the_hits_as_artifact() -> None:
    search, read, _ = RESEARCH_TOOLS
    runtime = tool_runtime(SourceLibrary(BUNDLED_SOURCES))
    message = await search.ainvoke(
        {
            "type": "tool_call",
            "id": "1",
            "name": "search_sources",
            "args": {"query": "coral bleaching", "k": 3, "runtime": runtime},
        }
    )
    hits = json.loads(message.content)
    assert len(hits) == 3 and hits[0]["source_id"] == "coral-reefs"
    # The artifact keeps where each hit is from; the model is shown the hits alone.
    assert [{**h, "origin": "library", "location": ""} for h in hits] == message.artifact
    assert "origin" not in message.content
    missing = await read.ainvoke(
        {
            "type": "tool_call",
            "id": "2",
            "name": "read_source",
            "args": {"source_id": "nope", "runtime": runtime},
        }
    )
    assert "No source has id 'nope'" in missing.content


def test_editor_tools_measure_the_draft() -> None:
    draft = "# T\n\nBees make honey [1]. Bees sting [4]."
    word_count, readability, check_citations = EDITOR_TOOLS
    assert word_count.invoke({"draft": draft, "target_words": 8}) == {
        "words": 5,
        "target": 8,
        "ratio": 0.62,
    }
    sources = [Source(id="a", title="A", passages=[])]
    checked = check_citations.invoke({"draft": draft, "sources": sources})
    assert checked["invalid"] == [4] and checked["coverage"] == 1.0
    assert readability.invoke({"draft": draft})["sentences"] == 2


def test_editor_tools_hide_the_injected_state_from_the_model() -> None:
    # The model sees tools without parameters: the draft comes from the graph state.
    for tool in EDITOR_TOOLS:
        assert tool.tool_call_schema.model_json_schema()["properties"] == {}


async def test_a_repeated_tool_call_is_answered_without_running_again() -> None:
    from langchain_core.messages import AIMessage, ToolMessage
    from langgraph.prebuilt.tool_node import ToolCallRequest

    from agent.tools import REPEATED, skip_repeated_calls

    first = {"name": "search_sources", "args": {"query": "bees"}, "id": "a", "type": "tool_call"}
    again = {**first, "id": "b"}
    other = {**first, "args": {"query": "wasps"}, "id": "c"}
    state = {"research_messages": [AIMessage("", tool_calls=[first, again, other])]}
    ran: list[str] = []

    async def execute(request: ToolCallRequest) -> ToolMessage:
        ran.append(request.tool_call["id"])
        return ToolMessage("found", tool_call_id=request.tool_call["id"])

    wrap = skip_repeated_calls("research_messages")
    answers = [
        await wrap(ToolCallRequest(tool_call=c, tool=None, state=state, runtime=None), execute)  # type: ignore[arg-type]
        for c in (first, again, other)
    ]
    assert ran == ["a", "c"]
    assert [a.content for a in answers] == ["found", REPEATED, "found"]  # type: ignore[union-attr]
