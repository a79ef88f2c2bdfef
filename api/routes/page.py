"""GET /: the web page to write, watch, read and rate an article; its files under /static; and
GET /prompts/aliases, the aliases its form offers (docs/page.md)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.responses import Response
from starlette.types import Scope

from agent.prompts.aliases import request_aliases
from api.deps import SettingsDep, WriterDep

STATIC = Path(__file__).resolve().parent.parent / "static"
# The page runs its own script and styles only, and talks to this server only. Model text is
# never parsed as HTML (app.js), and this holds even if that were broken: no inline script or
# event handler, no image or frame from elsewhere.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
# Revalidated on every load (ETag): an edited file shows on the next reload.
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


class PageFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(HEADERS)
        return response


router = APIRouter()
router.mount("/static", PageFiles(directory=STATIC), name="static")


class PromptAliases(BaseModel):
    default: str = Field(description="The PROMPT_ALIAS setting: what a request naming none uses.")
    aliases: list[str] = Field(description="Aliases every prompt has, the default first.")


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(
        STATIC / "index.html", headers={**HEADERS, "Content-Security-Policy": POLICY}
    )


@router.get("/prompts/aliases", response_model=PromptAliases, tags=["prompts"])
async def prompt_aliases(writer: WriterDep, settings: SettingsDep) -> PromptAliases:
    """The registry aliases a request may name in `prompt_alias`, the default first; only the
    default when the registry is unreachable."""
    aliases = await request_aliases(settings, writer.prompts.book)
    return PromptAliases(default=settings.prompt_alias, aliases=aliases)
