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

then the report is stored -- 202, sent only once it is committed -- unless
its (site, report id) is stored already with an equal or greater ``seq`` (a
re-sent or out-of-order snapshot of the same page session): 202 too, and
nothing changes.  A later snapshot (greater ``seq``) replaces the stored one
(:func:`store.insert_reports`).  Reports are stored in batches, by one
writer thread (:mod:`pytrigger.collector.batch_writer`); when a batch's
transaction fails, each of its requests gets 503 with ``Retry-After`` and
nothing of it is stored.

The request's content type is not looked at: ``sendBeacon`` sends
``text/plain`` (no CORS preflight), ``fetch`` may send ``application/json``.
Nothing about the client — address, user agent, cookies — is read or stored.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pytrigger.aggregates import MAX_REPORT_BYTES, check_report
from pytrigger.collector import store
from pytrigger.collector.batch_writer import BatchFailed, BatchWriter
from pytrigger.collector.ratelimit import RateLimiter

__all__ = ["Answer", "Ingest", "SiteCache", "format_path", "load_schema"]

_SITE_TTL_S = 2.0
#: the Retry-After of a 503 (the database failed a batch)
RETRY_STORE_S = 2


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


@dataclass(frozen=True, slots=True)
class Answer:
    """A status, a JSON body and the headers to send with them."""

    status: int
    body: bytes
    headers: dict[str, str]


_ACCEPTED = b'{"status":"accepted"}'


def _problem(status: int, detail: str, headers: dict[str, str], path: str | None = None) -> Answer:
    """A refusal: ``{"detail": ..., "path": ...}`` (``path`` for schema errors)."""
    body: dict[str, Any] = {"detail": detail}
    if path is not None:
        body["path"] = path
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Answer(status, text.encode(), headers)


def _response(answer: Answer) -> Response:
    return Response(answer.body, answer.status, answer.headers, media_type="application/json")


async def _body(length: str | None, chunks: AsyncIterator[bytes]) -> bytes | None:
    """The body, or None as soon as it is known to be too large: by its
    ``Content-Length`` before a byte is read, or by counting as it streams in."""
    if length is not None and length.isdigit() and int(length) > MAX_REPORT_BYTES:
        return None
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > MAX_REPORT_BYTES:
            return None
    return bytes(body)


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """An ASGI request's body chunks (as ``Request.stream()``)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        if message.get("body"):
            yield message["body"]
        if not message.get("more_body", False):
            return


class Ingest:
    """The ``POST /v1/aggregates`` and its preflight, for one app."""

    def __init__(self, engine: Engine, limiter: RateLimiter | None = None) -> None:
        self.engine = engine
        self.sites = SiteCache(engine)
        self.limiter = limiter or RateLimiter()
        self.validator = Draft202012Validator(load_schema())
        self.writer: BatchWriter[store.Received, bool] = BatchWriter(self._store)

    def _store(self, batch: Sequence[store.Received]) -> list[bool]:
        return store.insert_reports(self.engine, batch)

    async def preflight(self, request: Request) -> Response:
        """CORS preflight: the site is not known yet (it is in the body), so
        any origin some site allows gets the answer."""
        origin = request.headers.get("origin")
        if origin is None:
            return Response(status_code=204, headers={"Allow": "POST, OPTIONS"})
        if not await self.sites.any_allows(origin):
            return _response(_problem(403, "origin not allowed", cors_headers(origin, False)))
        headers = cors_headers(origin, True)
        headers["Access-Control-Allow-Methods"] = "POST"
        headers["Access-Control-Allow-Headers"] = "Content-Type"
        headers["Access-Control-Max-Age"] = "600"
        return Response(status_code=204, headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /v1/aggregates`` as a bare ASGI app: the app hands the
        request here before its middleware and routing (which cost as much
        CPU as the checks and the store together).  Only the two headers
        the checks need are read."""
        origin = length = None
        for name, value in scope["headers"]:
            if name == b"origin" and origin is None:
                origin = value.decode("latin-1")
            elif name == b"content-length" and length is None:
                length = value.decode("latin-1")
        try:
            answer = await self.accept(origin, length, _chunks(receive))
        except ClientDisconnect:
            return  # nobody to answer
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(answer.body)).encode()),
            *(
                (name.lower().encode(), value.encode("latin-1"))
                for name, value in answer.headers.items()
            ),
        ]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def post(self, request: Request) -> Response:
        """``POST /v1/aggregates`` as a Starlette endpoint (the same answers
        as :meth:`__call__`)."""
        headers = request.headers
        answer = await self.accept(
            headers.get("origin"), headers.get("content-length"), request.stream()
        )
        return Response(answer.body, answer.status, answer.headers, media_type="application/json")

    async def accept(
        self, origin: str | None, length: str | None, chunks: AsyncIterator[bytes]
    ) -> Answer:
        """Check and store one report, given the request's ``Origin`` and
        ``Content-Length`` and its body's chunks: the answer."""
        early = cors_headers(origin, await self.sites.any_allows(origin))
        body = await _body(length, chunks)
        if body is None:
            return _problem(413, f"body over {MAX_REPORT_BYTES} bytes", early)
        try:
            report = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError) as error:
            return _problem(422, f"body is not JSON: {error}", early)
        if not isinstance(report, dict):
            return _problem(422, "body: expected a JSON object", early)
        key = report.get("site")
        site = await self.sites.site(key) if isinstance(key, str) else None
        if site is None:
            return _problem(403, "unknown site", early)
        if origin is not None and origin not in site.origins:
            return _problem(403, "origin not allowed for this site", cors_headers(origin, False))
        headers = cors_headers(origin, True)
        wait = self.limiter.take(site.key, rate=site.rate, burst=site.burst)
        if wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return _problem(429, "rate limit exceeded", headers)
        invalid = self.schema_problem(report)
        if invalid is not None:
            path, detail = invalid
            return _problem(422, f"{path}: {detail}" if path else detail, headers, path)
        received_hour = int(time.time() // 3600)
        try:
            await self.writer.submit(store.Received(site.id, report, received_hour))
        except BatchFailed as failed:
            if not isinstance(failed.__cause__, SQLAlchemyError):
                raise  # a bug, not the database: a 500
            headers["Retry-After"] = str(RETRY_STORE_S)
            return _problem(503, "the report could not be stored; try again", headers)
        return Answer(202, _ACCEPTED, headers)

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
