"""The registry aliases a request may name in `prompt_alias`: what the web page's form offers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from agent.prompts.catalog import NOT_FOUND
from agent.prompts.files import PromptBook
from agent.settings import AgentSettings
from tracing import server_answers

log = logging.getLogger(__name__)


async def request_aliases(settings: AgentSettings, book: PromptBook) -> list[str]:
    """The aliases every prompt of `book` has in the registry, the default alias first.

    Only an alias all prompts have can be asked for: a request naming one that a prompt lacks is
    refused. The default is always offered, even unregistered, since a request that names no
    alias never fails for it (the bundled files serve); with the registry unreachable it is the
    only one.
    """
    default = settings.prompt_alias
    uri = settings.registry_uri
    if not await server_answers(uri):  # quick, where MLflow's own client would retry for long
        return [default]
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=uri)
    try:
        shared = await asyncio.to_thread(shared_aliases, client, sorted(book.files))
    except (MlflowException, OSError) as exc:
        log.warning("prompt registry failed listing aliases (%s)", type(exc).__name__)
        return [default]
    return [default, *sorted(shared - {default})]


def shared_aliases(client: MlflowClient, names: Iterable[str]) -> set[str]:
    """The aliases that every prompt in `names` has, on any of its versions."""
    shared: set[str] | None = None
    for name in names:
        aliases = _aliases(client, name)
        shared = aliases if shared is None else shared & aliases
        if not shared:
            break
    return shared or set()


def _aliases(client: MlflowClient, name: str) -> set[str]:
    try:
        versions = client.search_prompt_versions(name)
    except MlflowException as exc:
        if exc.error_code in NOT_FOUND:  # a prompt never synced has no alias
            return set()
        raise
    aliases: set[str] = set()
    for version in versions:
        # Versions from a search carry no aliases; a direct read does.
        read = client.get_prompt_version(name, version.version)
        if read is not None:
            aliases.update(read.aliases or [])
    return aliases
