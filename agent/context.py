"""What every node needs besides the state: LangGraph passes it as the run's `context`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, convert_to_messages
from langchain_core.tools import BaseTool
from langchain_openai import ChatOpenAI
from mlflow.entities.model_registry import PromptVersion

from agent.llm import tuned
from agent.prompts import PromptSet
from agent.sources import SourceLibrary


@dataclass(frozen=True)
class WriterContext:
    llm: ChatOpenAI
    prompts: PromptSet  # per request: the versions this run uses
    library: SourceLibrary
    research_tools: list[BaseTool]

    def prompt(
        self, name: str, *, streams: bool = False, **variables: Any
    ) -> tuple[ChatOpenAI, list[BaseMessage]]:
        """The model tuned by the prompt's own settings, and the prompt's messages, filled in.

        `streams`: the node writes the article's text, which listeners may watch token by token.
        """
        version: PromptVersion = self.prompts.get(name)
        messages = version.format(**variables)
        return tuned(self.llm, version.model_config, streams), convert_to_messages(messages)
