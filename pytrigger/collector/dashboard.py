"""``GET /dashboard``: the collector's plots (web/dashboard/, built into static/dashboard/).

The page is ``static/dashboard/index.html``, served by the app's own route
(:func:`dashboard_page`) once the read token is checked as for
``/v1/report``; it holds no data: ``dashboard.js`` fetches the report JSON and
draws it with the vendored uPlot.  Its scripts and styles are served under
``/dashboard/`` by :func:`dashboard_assets` — scripts and style sheets only,
so the page itself cannot be fetched there without the token.

The page is sent with a strict Content-Security-Policy (``script-src
'self'``, nothing inline, nothing from elsewhere), ``Cache-Control:
no-store`` and ``Referrer-Policy: no-referrer`` (a token may be in its URL).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import Receive, Scope, Send

from pytrigger.collector.static_files import StaticTree

__all__ = ["CSP", "dashboard_assets", "dashboard_page"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
#: what /dashboard/ serves: the page's scripts, styles and icon, nothing else
_ASSET_SUFFIXES = frozenset({".js", ".css", ".svg"})


def dashboard_page(static_dir: Path | None) -> Response:
    """The dashboard's HTML (the caller has checked the token), or 404 when
    static/ has no dashboard (``python3 build.py`` builds it)."""
    page = None if static_dir is None else static_dir / "dashboard" / "index.html"
    if page is None or not page.is_file():
        return PlainTextResponse(
            "the dashboard is not built: run `python3 build.py`", status_code=404
        )
    return Response(page.read_bytes(), media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


class _Assets:
    """An ASGI app: a :class:`StaticTree` of the dashboard folder that
    answers 404 to anything but a script or a style sheet."""

    def __init__(self, directory: Path) -> None:
        self.tree = StaticTree(directory)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if PurePosixPath(scope["path"]).suffix.lower() in _ASSET_SUFFIXES:
            await self.tree(scope, receive, send)
        else:
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)


def dashboard_assets(static_dir: Path) -> list[BaseRoute]:
    """The ``/dashboard/`` mount for the page's scripts and styles; add it
    before the static routes (the demo, mounted at ``/``, would shadow it)."""
    return [Mount("/dashboard", app=_Assets(static_dir / "dashboard"), name="dashboard-assets")]
