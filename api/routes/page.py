"""GET /: the web page to write, watch, read and rate an article, and its files under /static
(docs/page.md). Open even when the API has keys: a browser cannot send a key to load a page,
and these files hold no data; the page sends its key on every call it makes."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

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


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(
        STATIC / "index.html", headers={**HEADERS, "Content-Security-Policy": POLICY}
    )
