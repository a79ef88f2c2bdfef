"""GET /prompts/aliases: the registry aliases a request may name, which the page's form offers."""

from __future__ import annotations

from fastapi import APIRouter

from agent.prompts.aliases import request_aliases
from api.deps import SettingsDep, WriterDep
from api.schemas import PromptAliases

router = APIRouter(tags=["prompts"])


@router.get("/prompts/aliases", response_model=PromptAliases)
async def prompt_aliases(writer: WriterDep, settings: SettingsDep) -> PromptAliases:
    """The registry aliases a request may name in `prompt_alias`, the default first; only the
    default when the registry is unreachable."""
    aliases = await request_aliases(settings, writer.prompts.book)
    return PromptAliases(default=settings.prompt_alias, aliases=aliases)
