"""Serving ``static/`` (built by ``python3 build.py``): the bundle, PyScript, the demo.

:func:`static_routes` gives three mounts, to be added *after* the app's own
routes (the demo is mounted at ``/`` and would shadow them otherwise)::

    /pytrigger/  → static/pytrigger/   the shim, the worker, Pyodide + the wheel
    /pyscript/   → static/pyscript/    PyScript's dist (PyScript mode)
    /            → static/demo/        the demo site (``index.html`` for folders)

What a careful static server does, and nothing else:

* **Content types** a browser insists on: ``.mjs``/``.js`` as ``text/javascript``
  (module scripts and workers refuse anything else), ``.wasm`` as
  ``application/wasm`` (streaming compilation), ``.whl`` as ``application/zip``.
* **Pre-compressed siblings**: ``file.br`` / ``file.gz``, written by the build,
  are sent with ``Content-Encoding`` when the request's ``Accept-Encoding``
  allows it (brotli first; ``q=0`` excludes), with ``Vary: Accept-Encoding``.
  Nothing is compressed per request.
* **Validation**: an ``ETag`` per file and encoding; ``If-None-Match`` → 304.
* **Caching**: the pinned Pyodide runtime, the wheels and the memory snapshot
  (``snapshot-<sha256 prefix>.bin``) are
  ``public, max-age=31536000, immutable`` (their names carry their version:
  *bump the version to ship a changed wheel*); everything a site edits — the
  shim, the worker, ``pyodide-lock.json`` (it pins the wheel's sha256), the demo
  pages and configs, PyScript's entry points — is ``no-cache`` (revalidated on
  every use; a 304 costs one round trip).
* Only ``GET``/``HEAD``; no directory listings; nothing outside the folder
  (``..``, symlinks out, dot-files) is ever served.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.types import Receive, Scope, Send

__all__ = ["CONTENT_TYPES", "StaticTree", "negotiate_encoding", "static_routes"]

CONTENT_TYPES: dict[str, str] = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".json": "application/json",
    ".map": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".py": "text/x-python; charset=utf-8",
    ".toml": "application/toml",
    ".gz": "application/gzip",
    ".br": "application/octet-stream",
}
#: sibling suffix per Content-Encoding, in order of preference
ENCODINGS: tuple[tuple[str, str], ...] = (("br", ".br"), ("gzip", ".gz"))

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
#: the files of the pinned runtime (pyodide/ in the bundle) that never change
#: under their name; pyodide-lock.json is not one of them
_IMMUTABLE_SUFFIXES = frozenset({".mjs", ".js", ".wasm", ".zip", ".whl", ".bin"})


def negotiate_encoding(accept_encoding: str | None, available: set[str]) -> str | None:
    """The best of ``available`` (``br``, ``gzip``) that ``Accept-Encoding`` allows.

    >>> negotiate_encoding("gzip, deflate, br, zstd", {"br", "gzip"})
    'br'
    >>> negotiate_encoding("gzip;q=1.0, br;q=0", {"br", "gzip"})
    'gzip'
    >>> negotiate_encoding("*", {"gzip"}), negotiate_encoding(None, {"br"})
    ('gzip', None)
    """
    if not accept_encoding or not available:
        return None
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[name.strip().lower()] = q
    best: tuple[float, int, str] | None = None
    for rank, (encoding, _) in enumerate(ENCODINGS):
        if encoding not in available:
            continue
        q = weights.get(encoding, weights.get("*", 0.0))
        if q > 0 and (best is None or (q, -rank) > (best[0], best[1])):
            best = (q, -rank, encoding)
    return best[2] if best else None


def _content_type(name: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(name).suffix.lower(), "application/octet-stream")


def _etag(st: os.stat_result, encoding: str | None) -> str:
    base = f"{st.st_mtime_ns}-{st.st_size}-{encoding or 'identity'}"
    return '"' + hashlib.sha256(base.encode()).hexdigest()[:32] + '"'


def _route_path(scope: Scope) -> str:
    """The request's path below the mount point (as Starlette's StaticFiles)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :]
    return path


def _not_modified(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


class StaticTree:
    """An ASGI app serving one folder, as the module docstring says.

    ``immutable(relpath)`` says which files get the year-long immutable cache."""

    def __init__(self, directory: Path, *, immutable_dirs: tuple[str, ...] = ()) -> None:
        self.directory = directory.resolve()
        self.immutable_dirs = immutable_dirs

    def cache_control(self, relpath: str) -> str:
        path = PurePosixPath(relpath)
        parent = path.parent.as_posix()
        if parent in self.immutable_dirs and path.suffix in _IMMUTABLE_SUFFIXES:
            return IMMUTABLE
        return REVALIDATE

    def _lookup(self, relpath: str) -> Path | None:
        """The file for a URL path inside the folder, or None."""
        parts = [p for p in relpath.split("/") if p]
        if any(p.startswith(".") or "\\" in p or "\0" in p for p in parts):
            return None
        candidate = self.directory.joinpath(*parts)
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if resolved != self.directory and self.directory not in resolved.parents:
            return None
        return resolved

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        response = self._respond(Request(scope, receive))
        await response(scope, receive, send)

    def _respond(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return PlainTextResponse(
                "Method Not Allowed", status_code=405, headers={"Allow": "GET, HEAD"}
            )
        relpath = _route_path(request.scope).lstrip("/")
        found = self._lookup(relpath)
        if found is not None and found.is_dir():
            if relpath and not relpath.endswith("/"):
                # relative links in the index must resolve inside the folder
                url = request.url
                return RedirectResponse(url.replace(path=url.path + "/"), status_code=308)
            relpath = (relpath + "index.html") if relpath else "index.html"
            found = self._lookup(relpath)
        if found is None or not found.is_file():
            return PlainTextResponse("Not Found", status_code=404)
        return self._file(request, found, relpath)

    def _file(self, request: Request, path: Path, relpath: str) -> Response:
        headers = Headers(scope=request.scope)
        siblings = {
            encoding: path.with_name(path.name + suffix)
            for encoding, suffix in ENCODINGS
            if path.with_name(path.name + suffix).is_file()
        }
        encoding = negotiate_encoding(headers.get("accept-encoding"), set(siblings))
        served = siblings[encoding] if encoding else path
        st = served.stat()
        if not stat.S_ISREG(st.st_mode):
            return PlainTextResponse("Not Found", status_code=404)
        etag = _etag(st, encoding)
        out = {"ETag": etag, "Cache-Control": self.cache_control(relpath)}
        if siblings:
            out["Vary"] = "Accept-Encoding"
        if _not_modified(headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=out)
        if encoding:
            out["Content-Encoding"] = encoding
        return FileResponse(
            served, headers=out, media_type=_content_type(path.name), stat_result=st
        )


def static_routes(static_dir: Path) -> list[BaseRoute]:
    """The routes serving ``static_dir`` (``static/``): add them after the
    app's own routes, since the demo site is mounted at ``/``."""
    return [
        Mount(
            "/pytrigger",
            app=StaticTree(static_dir / "pytrigger", immutable_dirs=("pyodide",)),
            name="pytrigger-bundle",
        ),
        Mount("/pyscript", app=StaticTree(static_dir / "pyscript"), name="pyscript"),
        Mount("/", app=StaticTree(static_dir / "demo"), name="demo"),
    ]
