"""The agents' console: one page at ``/console`` and its two assets, all from the package.

Nothing is loaded from outside the server (the Content-Security-Policy allows only this
origin), so the console works offline. The page holds no data and no key: the script
asks for an agent's API key, keeps it in ``sessionStorage`` (this tab only) and sends it
as the ``X-API-Key`` header of each API call; it never puts it in a URL.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

STATIC = Path(__file__).resolve().parents[1] / "static"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

# a decline or an override waits this long in the page, undoable, before it is sent
UNDO_SECONDS = 10

router = APIRouter(include_in_schema=False)


@cache
def _template():  # type: ignore[no-untyped-def]
    env = Environment(
        loader=PackageLoader("makegood.serving", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    return env.get_template("console.html.j2")


def _asset_version() -> str:
    """Changes when an asset changes, so browsers never run a stale script."""
    return "-".join(str(int((STATIC / n).stat().st_mtime)) for n in ("console.js", "console.css"))


@router.get("/console", response_class=HTMLResponse)
async def console(request: Request) -> HTMLResponse:
    models = getattr(request.app.state, "models", None)
    scorer = models.current if models is not None else None
    currency = scorer.catalog.currency if scorer is not None else "USD"
    html = _template().render(
        currency=currency, version=_asset_version(), undo_seconds=UNDO_SECONDS
    )
    return HTMLResponse(html, headers=HEADERS)


def mount_static(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
