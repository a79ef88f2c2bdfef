"""The prompts a request runs with: loaded by alias from the MLflow Prompt Registry, inside
the request's trace so MLflow links each version to it, or the bundled files when the registry
cannot be reached.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow.entities.model_registry import PromptVersion
from mlflow.exceptions import MlflowException

from agent.prompts.files import PromptBook
from agent.settings import AgentSettings
from tracing import public_uri, server_answers

log = logging.getLogger(__name__)
# Where a registry answers this, the alias (or the prompt) is missing: the caller's mistake.
NOT_FOUND = {"INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"}


class UnknownPromptAlias(LookupError):
    def __init__(self, name: str, alias: str) -> None:
        super().__init__(
            f"Prompt {name!r} has no alias {alias!r}. Use an alias that exists (see "
            f"`writer prompts list`), or create it with `writer prompts sync --alias {alias}`."
        )
        self.name = name
        self.alias = alias


@dataclass(frozen=True)
class PromptSet:
    """The prompt versions one request uses, and where they came from."""

    versions: dict[str, PromptVersion]
    source: str  # "registry" or "bundled"
    alias: str | None = None

    @classmethod
    def bundled(cls, book: PromptBook) -> PromptSet:
        """The prompt files as they are in the package, unversioned."""
        return cls({name: f.as_version() for name, f in book.files.items()}, "bundled")

    def get(self, name: str) -> PromptVersion:
        return self.versions[name]

    def summary(self) -> list[dict[str, Any]]:
        """[{name, version, alias}], as the API returns it; bundled prompts have no version."""
        return [
            {
                "name": name,
                "version": version.version if self.source == "registry" else None,
                "alias": self.alias,
            }
            for name, version in sorted(self.versions.items())
        ]


class PromptCatalog:
    """The prompts a request runs with: the registry's, by alias, or else the bundled files.

    A request never fails because the registry is down or unsynced; only an alias the request
    asked for by name, and which the registry does not have, is refused.
    """

    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self.book = PromptBook.from_folder(settings.prompts_dir)
        self.problem: str | None = None

    async def check(self) -> bool:
        """Is the registry up, and does it hold every prompt at the default alias?"""
        uri = self.settings.registry_uri
        if not await server_answers(uri):
            self.problem = (
                f"prompt registry {public_uri(uri)} is unreachable; serving bundled prompts"
            )
            return False
        self.problem = None
        try:
            await asyncio.to_thread(self._load, self.settings.prompt_alias)
        except UnknownPromptAlias:
            self.problem = (
                f"prompts are not registered at alias {self.settings.prompt_alias!r}; serving "
                "bundled prompts (run `writer prompts sync`)"
            )
        except MlflowException as exc:
            self.problem = f"prompt registry failed ({exc.error_code}); serving bundled prompts"
        return self.problem is None

    def resolve(self, alias: str | None = None) -> PromptSet:
        """The request's prompts; call it inside the request's trace so MLflow links them."""
        if self.problem is not None:
            return PromptSet.bundled(self.book)
        try:
            return self._load(alias or self.settings.prompt_alias)
        except UnknownPromptAlias:
            if alias:  # asked for by name: the caller should hear about it
                raise
            self.problem = f"prompts are not registered at alias {self.settings.prompt_alias!r}"
        except MlflowException as exc:
            log.warning("prompt registry failed (%s); serving bundled prompts", exc.error_code)
            self.problem = f"prompt registry failed ({exc.error_code}); serving bundled prompts"
        return PromptSet.bundled(self.book)

    def _load(self, alias: str) -> PromptSet:
        versions = {}
        for name in self.book.files:
            try:
                versions[name] = mlflow.genai.load_prompt(
                    f"prompts:/{name}@{alias}",
                    cache_ttl_seconds=self.settings.prompt_cache_ttl_seconds,
                )
            except MlflowException as exc:
                if exc.error_code in NOT_FOUND:
                    raise UnknownPromptAlias(name, alias) from None
                raise
        return PromptSet(versions, "registry", alias)
