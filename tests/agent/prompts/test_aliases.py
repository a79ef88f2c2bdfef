"""The aliases the web page's form offers (GET /prompts/aliases), from a local sqlite registry."""

from __future__ import annotations

from agent.prompts import registry as prompt_registry
from agent.prompts.aliases import request_aliases
from agent.prompts.files import PromptBook
from agent.settings import BUNDLED_PROMPTS
from cli.settings import Settings
from testbed.servers import free_port


def settings_for(uri: str) -> Settings:
    return Settings(_env_file=None, mlflow_tracking_uri=uri, prompt_alias="production")


BOOK = PromptBook.from_folder(BUNDLED_PROMPTS)


async def test_only_aliases_every_prompt_has_are_offered_the_default_first(registry: str) -> None:
    settings = settings_for(registry)
    # Nothing registered: the default still serves (from the bundled files).
    assert await request_aliases(settings, BOOK) == ["production"]

    prompt_registry.sync(BUNDLED_PROMPTS, "production")
    prompt_registry.promote("production", "staging", sorted(BOOK.files))
    prompt_registry.promote("production", "archive", sorted(BOOK.files))
    # An alias one prompt lacks would be refused for a request naming it: not offered.
    prompt_registry.set_alias("article-draft", "canary", 1)
    assert await request_aliases(settings, BOOK) == ["production", "archive", "staging"]


async def test_an_unreachable_registry_offers_only_the_default() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    assert await request_aliases(settings_for(dead), BOOK) == ["production"]
