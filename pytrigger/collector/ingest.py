"""``POST /v1/aggregates``: accepting a report, cheapest checks first.

The order (DESIGN.md §7) is the order of cost:

1. size: a ``Content-Length`` over 64 KiB is refused before any byte is read,
   and the body is counted while it streams in (a chunked body has no length)
   — 413;
2. JSON: the body must parse (UTF-8/16/32, no ``NaN``) to an object — 422;
3. site and origin: the body's ``site`` must be a registered public key, and an
   ``Origin`` header, when there is one, must be on that site's allowlist —
   403.  A request without ``Origin`` is not from a browser page (browsers send
   it with every cross-origin request, ``sendBeacon`` included, and with every
   same-origin POST); a client that can omit it could forge it, so it is
   accepted;
4. rate: the site's token bucket in this process — 429 with ``Retry-After``;
5. schema: ``report.schema.json`` plus the one rule JSON Schema cannot state
   (each (trigger, arm) once) — 422 naming the field's path (checked by
   :func:`pytrigger.aggregates.check_report`, the schema's stdlib twin; the
   JSON Schema itself is run only on a refused report, to name the field);

then the report is stored — 202 — unless its (site, report id) is stored
already with an equal or greater ``seq`` (a re-sent or out-of-order snapshot
of the same page session): 202 too, and nothing changes.  A later snapshot
(greater ``seq``) replaces the stored one (:func:`store.insert_report`).

The request's content type is not looked at: ``sendBeacon`` sends
``text/plain`` (no CORS preflight), ``fetch`` may send ``application/json``.
Nothing about the client — address, user agent, cookies — is read or stored.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pytrigger.aggregates import MAX_REPORT_BYTES, check_report
from pytrigger.collector import store
from pytrigger.collector.ratelimit import RateLimiter

__all__ = ["Ingest", "SiteCache", "format_path", "load_schema"]

_SITE_TTL_S = 2.0


def load_schema() -> dict[str, Any]:
    """The report's JSON Schema (``report.schema.json``)."""
    text = resources.files("pytrigger.collector").joinpath("report.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def format_path(path: Iterable[str | int]) -> str:
    """A JSON path as pytrigger writes them: ``triggers[0].suppressed.hidden``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class SiteCache:
    """Sites by public key, re-read from the database every couple of seconds
    (``pytrigger site add`` runs in another process), and the set of every
    allowed origin (for CORS answers given before the site is known)."""

    def __init__(self, engine: Engine, clock: Any = time.monotonic) -> None:
        self._engine = engine
        self._clock = clock
        self._stamp = -math.inf
        self._by_key: dict[str, store.Site] = {}
        self._origins: frozenset[str] = frozenset()

    def _refresh(self) -> None:
        sites = store.list_sites(self._engine)
        self._by_key = {site.key: site for site in sites}
        self._origins = frozenset(origin for site in sites for origin in site.origins)
        self._stamp = self._clock()

    async def _fresh(self, force: bool = False) -> None:
        if force or self._clock() - self._stamp > _SITE_TTL_S:
            await run_in_threadpool(self._refresh)

    async def site(self, key: str) -> store.Site | None:
        await self._fresh()
        site = self._by_key.get(key)
        if site is None:  # maybe just added: look again, at most once per TTL
            await self._fresh(force=self._clock() - self._stamp > 0.2)
            site = self._by_key.get(key)
        return site

    async def any_allows(self, origin: str | None) -> bool:
        if origin is None:
            return False
        await self._fresh()
        return origin in self._origins


def cors_headers(origin: str | None, allowed: bool) -> dict[str, str]:
    """``Vary: Origin`` always; the echoed origin and the exposed
    ``Retry-After`` when ``origin`` is allowed."""
    headers = {"Vary": "Origin"}
    if origin is not None and allowed:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = "Retry-After"
    return headers


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class Ingest:
    """The ``POST /v1/aggregates`` and its preflight, for one app."""

    def __init__(self, engine: Engine, limiter: RateLimiter | None = None) -> None:
        self.engine = engine
        self.sites = SiteCache(engine)
        self.limiter = limiter or RateLimiter()
        self.validator = Draft202012Validator(load_schema())

    def problem(
        self, status: int, detail: str, headers: dict[str, str], path: str | None = None
    ) -> Response:
        body: dict[str, Any] = {"detail": detail}
        if path is not None:
            body["path"] = path
        return JSONResponse(body, status_code=status, headers=headers)

    async def preflight(self, request: Request) -> Response:
        """CORS preflight: the site is not known yet (it is in the body), so
        any origin some site allows gets the answer."""
        origin = request.headers.get("origin")
        if origin is None:
            return Response(status_code=204, headers={"Allow": "POST, OPTIONS"})
        if not await self.sites.any_allows(origin):
            return self.problem(403, "origin not allowed", cors_headers(origin, False))
        headers = cors_headers(origin, True)
        headers["Access-Control-Allow-Methods"] = "POST"
        headers["Access-Control-Allow-Headers"] = "Content-Type"
        headers["Access-Control-Max-Age"] = "600"
        return Response(status_code=204, headers=headers)

    async def _body(self, request: Request) -> bytes | None:
        """The body, or None as soon as it is known to be too large."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_REPORT_BYTES:
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REPORT_BYTES:
                return None
        return bytes(body)

    async def post(self, request: Request) -> Response:
        origin = request.headers.get("origin")
        early = cors_headers(origin, await self.sites.any_allows(origin))
        body = await self._body(request)
        if body is None:
            return self.problem(413, f"body over {MAX_REPORT_BYTES} bytes", early)
        try:
            report = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as error:
            return self.problem(422, f"body is not JSON: {error}", early)
        if not isinstance(report, dict):
            return self.problem(422, "body: expected a JSON object", early)
        key = report.get("site")
        site = await self.sites.site(key) if isinstance(key, str) else None
        if site is None:
            return self.problem(403, "unknown site", early)
        if origin is not None and origin not in site.origins:
            return self.problem(
                403, "origin not allowed for this site", cors_headers(origin, False)
            )
        headers = cors_headers(origin, True)
        wait = self.limiter.take(site.key, rate=site.rate, burst=site.burst)
        if wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return self.problem(429, "rate limit exceeded", headers)
        invalid = self.schema_problem(report)
        if invalid is not None:
            path, detail = invalid
            return self.problem(422, f"{path}: {detail}" if path else detail, headers, path)
        received_hour = int(time.time() // 3600)
        await run_in_threadpool(store.insert_report, self.engine, site.id, report, received_hour)
        return JSONResponse({"status": "accepted"}, status_code=202, headers=headers)

    def schema_problem(self, report: dict[str, Any]) -> tuple[str, str] | None:
        """The most relevant schema violation as (path, message), or None.

        A valid report is recognized by :func:`check_report` alone: it is the
        schema's stdlib twin (plus the one rule JSON Schema cannot state) and
        some 40 times faster than ``jsonschema`` on a report, which would
        otherwise be most of the collector's CPU per report.  That the two
        agree is pinned by ``tests/test_aggregates.py`` (thousands of mutated
        reports) and, through this path, by the schemathesis test (schema-
        invalid bodies must be refused).  Only a refused report goes through
        the JSON Schema too, whose error names the field best."""
        problems = check_report(report)
        if not problems:
            return None
        error: ValidationError | None = best_match(self.validator.iter_errors(report))
        if error is not None:
            error = _deepest(error)
            message = error.message
            if len(message) > 200:
                message = message[:200] + "..."
            where = list(error.absolute_path)
            if error.validator == "required" and isinstance(error.instance, dict):
                # name the missing field itself, as check_report does ("seq: required")
                missing = [name for name in error.validator_value if name not in error.instance]
                where += missing[:1]
            return format_path(where), message
        # valid for the schema: one of the rules it cannot state (or ECMA-262 '$')
        path, _, message = problems[0].partition(": ")
        return path, message


def _deepest(error: ValidationError) -> ValidationError:
    """The path of the error, descending into ``oneOf``/``anyOf`` context
    errors when they point deeper (so ``triggers[0].fire`` is named, not
    ``triggers[0]``)."""
    best = error
    while best.context:
        deeper = best_match(best.context)
        if deeper is None or len(deeper.absolute_path) <= len(best.absolute_path):
            break
        best = deeper
    return best
