"""What every node needs besides the state: LangGraph passes it as the run's `context`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage, convert_to_messages
from langchain_openai import ChatOpenAI
from mlflow.entities.model_registry import PromptVersion

import tracing
from agent.failures import Unwritable
from agent.prompts import NodePrompt, PromptBook, PromptSet, blocks
from agent.research.sources import SourceLibrary
from agent.research.web import WebConfig
from agent.settings import AgentSettings, get_settings
from agent.state import Source

# Prompt tokens are estimated, not counted: the app does not know every model's tokenizer.
# Three characters a token overestimates English prose for the tokenizers in use, and the
# allowance covers the chat template and the tool schemas a call may carry.
CHARS_PER_TOKEN = 3
PROMPT_ALLOWANCE_TOKENS = 400
TRIM_EVENT = "prompt_trimmed"
# Prompt-file model settings that a node may override per call.
TUNABLE = {"temperature", "top_p", "max_tokens", "max_completion_tokens", "seed"}


def article_tokens(target_words: int) -> int:
    """The output bound of a node writing the article: room for about twice the words asked
    (Markdown, citations, tokens shorter than words), so a model that runs on is cut off."""
    return target_words * 2 + 200


@dataclass(frozen=True)
class Limits:
    max_output_tokens: int  # the bound on any answer (LLM_MAX_OUTPUT_TOKENS)
    context_tokens: int | None = None  # the model's window, when known

    @classmethod
    def from_settings(cls, settings: AgentSettings) -> Limits:
        return cls(settings.llm_max_output_tokens, settings.llm_context_tokens)


@dataclass(frozen=True)
class Bounds:
    """How far the loops may go in one run: the graph's routing reads them from the context,
    so each run may have its own (MAX_RESEARCH_ROUNDS, MAX_EDITOR_ROUNDS, MAX_REVISIONS)."""

    research_rounds: int = 3
    editor_rounds: int = 2
    revisions: int = 2

    @classmethod
    def from_settings(cls, settings: AgentSettings) -> Bounds:
        return cls(settings.max_research_rounds, settings.max_editor_rounds, settings.max_revisions)


def estimate_tokens(messages: Sequence[BaseMessage]) -> int:
    return sum(len(m.text) // CHARS_PER_TOKEN + 8 for m in messages) + PROMPT_ALLOWANCE_TOKENS


def tuned(llm: ChatOpenAI, model_config: dict[str, Any] | None, streams: bool) -> ChatOpenAI:
    """The same client with a prompt's own model settings (temperature and the like).

    Only the nodes that write the article's text stream (when a caller listens for tokens);
    the others get whole answers, which spares per-token work on JSON and tool calls.
    """
    update = {k: v for k, v in (model_config or {}).items() if k in TUNABLE}
    update["disable_streaming"] = not streams
    return llm.model_copy(update=update)


@dataclass(frozen=True)
class WriterContext:
    """The run's model, prompts, sources and bounds. The service layer builds the model and
    passes its own context; what a context leaves out is the configuration in the environment
    (`service.studio` gives LangGraph Studio a model the same way)."""

    llm: ChatOpenAI
    # Per request: the versions this run uses.
    prompts: PromptSet = field(
        default_factory=lambda: PromptSet.bundled(
            PromptBook.from_folder(get_settings().prompts_dir)
        )
    )
    library: SourceLibrary = field(
        default_factory=lambda: SourceLibrary.from_settings(get_settings())
    )
    limits: Limits = field(default_factory=lambda: Limits.from_settings(get_settings()))
    bounds: Bounds = field(default_factory=lambda: Bounds.from_settings(get_settings()))
    # Whether the model grades the sources the coverage rule kept (SOURCE_GRADER).
    model_grades: bool = field(default_factory=lambda: get_settings().grades_with_model)
    # The web providers research may ask (WEB_SEARCH), or None.
    web: WebConfig | None = field(default_factory=lambda: get_settings().web)

    def prompt(
        self, prompt: NodePrompt, *, output_tokens: int, streams: bool = False, **variables: Any
    ) -> tuple[ChatOpenAI, list[BaseMessage]]:
        """The model tuned by the prompt's own settings, and the prompt's messages, filled in.

        `variables` are exactly the ones the prompt's contract names (`agent.prompts.contracts`):
        the prompt files were checked against that contract, so a node must keep it too.

        `output_tokens`: what the node's answer needs; the prompt's own `max_tokens`, then
        LLM_MAX_OUTPUT_TOKENS, may lower it. `streams`: the node writes the article's text,
        which listeners may watch token by token. A `sources` variable given as the list of
        sources is rendered here, with passages left out, last ones first, until the prompt
        fits the model's context; sources keep their numbers, so citations stay valid.
        """
        name = prompt.name
        if set(variables) != prompt.variables:
            raise TypeError(
                f"{name} takes {sorted(prompt.variables)}, the node gave {sorted(variables)}"
            )
        version: PromptVersion = self.prompts.get(name)
        config = dict(version.model_config or {})
        bound = min(
            self.limits.max_output_tokens,
            int(config.get("max_tokens") or config.get("max_completion_tokens") or output_tokens),
        )
        config.pop("max_completion_tokens", None)
        config["max_tokens"] = bound
        llm = tuned(self.llm, config, streams)
        sources = variables.get("sources")
        if not isinstance(sources, list):
            return llm, self._fitting(name, version, bound, variables)
        passages = [list(s.passages) for s in sources]
        dropped = 0
        while True:
            trimmed = [
                Source(id=s.id, title=s.title, passages=p)
                for s, p in zip(sources, passages, strict=True)
            ]
            filled = {**variables, "sources": blocks.sources_block(trimmed)}
            messages = convert_to_messages(version.format(**filled))
            if self.fits(messages, bound) or not any(passages):
                break
            max(passages, key=len).pop()  # the longest source gives up its lowest passage
            dropped += 1
        if dropped:
            tracing.record_event(
                TRIM_EVENT,
                prompt=name,
                passages_left_out=dropped,
                estimated_prompt_tokens=estimate_tokens(messages),
                context_tokens=self.limits.context_tokens or 0,
            )
        return llm, self._fitting(name, version, bound, filled, messages)

    def fits(self, messages: Sequence[BaseMessage], output_tokens: int) -> bool:
        window = self.limits.context_tokens
        return window is None or estimate_tokens(messages) + output_tokens <= window

    def _fitting(
        self,
        name: str,
        version: PromptVersion,
        bound: int,
        variables: dict[str, Any],
        messages: list[BaseMessage] | None = None,
    ) -> list[BaseMessage]:
        messages = messages or convert_to_messages(version.format(**variables))
        if not self.fits(messages, bound):
            needed = estimate_tokens(messages) + bound
            raise Unwritable(
                "context_too_small",
                f"The {name} step needs about {needed:,} tokens (its prompt and an answer of "
                f"up to {bound:,}), more than the model's context window of "
                f"{self.limits.context_tokens:,}. Ask for fewer words, or use a model with a "
                "larger context (LLM_CONTEXT_TOKENS says what the app assumes).",
            )
        return messages
