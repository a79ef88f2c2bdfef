"""What the node tests share: each node called directly, with a LangGraph `Runtime` whose context
is a real `WriterContext` on the offline model in process (as the app builds it for `offline`).

Hermetic: no network, no subprocess, no MLflow server. Tracing is off (a node's state span is
then MLflow's no-op span) and the tracking URI is a sqlite file in the test's own folder, which
nothing writes to. The settings MLflow reads from the environment are put back after each test;
MLflow's process-wide tracking URI and tracing switch stay as set, as the other untraced fixtures
(tests/conftest.py, tests/api/inprocess) leave them. Each test gets its own offline model, so
faults injected in one never reach another.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.runnables.config import ensure_config, var_child_runnable_config
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolRuntime
from langgraph.runtime import Runtime

import tracing
from agent import spans
from agent.context import Bounds, Limits, WriterContext
from agent.prompts import PromptBook, PromptSet
from agent.research.sources import SourceLibrary
from agent.settings import BUNDLED_PROMPTS, BUNDLED_SOURCES
from agent.state import ArticleState, Outline, Section, Source
from agent.tools import EDITOR_TOOLS, RESEARCH_TOOLS
from cli.settings import Settings
from service.llm import OFFLINE_BASE_URL, chat_model
from testbed.servers import SCRUBBED

# On the bundled library: a topic it covers, and one it has nothing on.
ON_LIBRARY = "How honeybees pollinate crops"
OFF_LIBRARY = "Medieval castle architecture"
OFFLINE_ROOT = OFFLINE_BASE_URL.removesuffix("/v1")  # where the offline model's /admin lives

Node = Callable[[ArticleState, Runtime[WriterContext]], Awaitable[dict[str, Any]]]


@pytest.fixture(scope="session")
def library() -> SourceLibrary:
    # Indexing the library takes most of a second: once for the whole set.
    return SourceLibrary(BUNDLED_SOURCES)


@pytest.fixture(scope="session")
def prompts() -> PromptSet:
    return PromptSet.bundled(PromptBook.from_folder(BUNDLED_PROMPTS))


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The app's settings for `offline`, untraced, applied to MLflow as the app applies them."""
    # The developer's shell (LLM_MODEL, MLFLOW_TRACKING_URI, ...) must not change what the tests
    # see; and what `tracing.configure` writes into the environment is undone after the test.
    for name in list(os.environ):
        if name.startswith(SCRUBBED):
            monkeypatch.delenv(name)
    for name in tracing.MLFLOW_ENV:
        monkeypatch.setenv(name, "")
    made = Settings(
        _env_file=None,
        llm_model="offline",
        tracing_enabled=False,
        mlflow_tracking_uri=f"sqlite:///{tmp_path}/nodes.db",
    )
    tracing.configure(made, spans.PROCESSORS)
    return made


@pytest.fixture
def context(settings: Settings, library: SourceLibrary, prompts: PromptSet) -> WriterContext:
    """The run's context as `service.turn.ArticleWriter` builds it, with a fresh offline model."""
    return WriterContext(
        llm=chat_model(settings),
        prompts=prompts,
        library=library,
        limits=Limits.from_settings(settings),
        bounds=Bounds.from_settings(settings),
    )


@pytest.fixture
def runtime(context: WriterContext) -> Runtime[WriterContext]:
    return Runtime(context=context)


class OfflineModel:
    """The offline model behind a context's client, through its own admin endpoints."""

    def __init__(self, context: WriterContext) -> None:
        client = context.llm.http_async_client  # the in-process transport to the model
        assert isinstance(client, httpx.AsyncClient), "not the offline model's client"
        self.client = client

    async def misanswer(self, **answers: list[str]) -> None:
        """Per task (plan, research, review, decision, draft, revise), how its next calls
        misanswer (`offline_model.server.FaultPlan.answers`)."""
        planned = await self.client.post(f"{OFFLINE_ROOT}/admin/faults", json={"answers": answers})
        planned.raise_for_status()

    async def stats(self) -> dict[str, int]:
        answer = await self.client.get(f"{OFFLINE_ROOT}/admin/stats")
        answer.raise_for_status()
        stats: dict[str, int] = answer.json()
        return stats


@pytest.fixture
def offline(context: WriterContext) -> OfflineModel:
    return OfflineModel(context)


async def run_node(node: Node, state: ArticleState, runtime: Runtime[WriterContext]) -> Any:
    """Calls a node directly, inside a runnable config as LangGraph runs every node.

    Research's own searches (its fallback, and coverage's) hand their tool a runtime built
    with `langgraph.config.get_config()`, which raises outside a runnable context.
    """
    token = var_child_runnable_config.set(ensure_config())
    try:
        return await node(state, runtime)
    finally:
        var_child_runnable_config.reset(token)


async def run_tools(
    message: BaseMessage, state: ArticleState, runtime: Runtime[WriterContext]
) -> list[ToolMessage]:
    """What the graph's tool nodes do with a model's tool calls: each tool run with its
    injected state (the editor's tools) or runtime (research's), answering as a ToolMessage."""
    assert isinstance(message, AIMessage) and message.tool_calls, "no tool calls to run"
    tools = {tool.name: tool for tool in [*RESEARCH_TOOLS, *EDITOR_TOOLS]}
    results = []
    for call in message.tool_calls:
        tool = tools[call["name"]]
        takes = set(getattr(tool.get_input_schema(), "model_fields", {}))  # injected ones too
        args: dict[str, Any] = dict(call["args"])
        args |= {key: value for key, value in state.items() if key in takes and key not in args}
        if "runtime" in takes:
            args["runtime"] = ToolRuntime(
                state=state,
                context=runtime.context,
                config={},
                stream_writer=runtime.stream_writer,
                tool_call_id=call["id"],
                store=None,
            )
        result = await tool.ainvoke({**call, "args": args})
        assert isinstance(result, ToolMessage)
        results.append(result)
    return results


def apply(state: ArticleState, update: dict[str, Any]) -> ArticleState:
    """The state after a node's update, as the graph's reducers make it: conversations
    (`*_messages`) are appended to (or cleared by a RemoveMessage), other keys replaced."""
    after: dict[str, Any] = {**state}
    for key, value in update.items():
        after[key] = add_messages(after.get(key, []), value) if key.endswith("_messages") else value
    return after  # type: ignore[return-value]


def outline(title: str, headings: Iterable[str], questions: Iterable[str]) -> Outline:
    return Outline(
        title=title,
        sections=[
            Section(heading=h, question=f"What does the library say on {h}?") for h in headings
        ],
        research_questions=list(questions),
    )


def found_by_search(library: SourceLibrary, query: str, k: int = 8) -> list[Source]:
    """The sources a search for `query` meets, with the passages it ranked, in its order."""
    found: dict[str, dict[str, Any]] = {}
    for hit in library.search(query, k):
        p = hit.passage
        source = found.setdefault(
            p.source_id, {"id": p.source_id, "title": p.title, "passages": []}
        )
        source["passages"].append(
            {"source_id": p.source_id, "title": p.title, "section": p.section, "text": p.text}
        )
    return [Source.model_validate(source) for source in found.values()]
