"""The collector's ASGI app: ``create_app()``.

Routes:

- ``POST /v1/aggregates`` — take one report (:mod:`pytrigger.collector.ingest`);
  ``OPTIONS`` answers CORS preflights.
- ``GET /v1/report?site=KEY`` — the site's figures (:mod:`.report`); needs the
  site's read token (``Authorization: Bearer TOKEN`` or ``?token=``) unless
  the collector is bound to a loopback address (``loopback=True``).
- ``GET /openapi.json`` — the API, with the report's JSON Schema as the request
  body.  (No ``/docs``: Swagger UI would load from a CDN.)
- ``GET /dashboard?site=KEY`` — the dashboard page (:mod:`.dashboard`), same
  token rule as ``/v1/report``; its scripts and styles under ``/dashboard/``.
- the demo site and the static bundle, when ``static_dir`` is given
  (``pytrigger.collector.static_files.static_routes``), mounted last.

For several processes (uvicorn ``--workers``), use the factory
:func:`app_from_env` — see docs/collector.md.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from pytrigger.collector import store
from pytrigger.collector.dashboard import dashboard_assets, dashboard_page
from pytrigger.collector.ingest import Ingest, load_schema
from pytrigger.collector.models import Accepted, Problem, ReportFigures
from pytrigger.collector.report import build_report

__all__ = ["CollectorApp", "app_from_env", "create_app", "report_components"]

_VERSION = "1"


def report_components() -> dict[str, Any]:
    """``report.schema.json`` as OpenAPI 3.1 component schemas: ``Report`` and
    its ``$defs`` as ``Report_<name>``, with the ``$ref``s rewritten."""
    schema = copy.deepcopy(load_schema())
    defs = schema.pop("$defs")
    schema.pop("$schema", None)
    schema.pop("$id", None)

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (
                    v.replace("#/$defs/", "#/components/schemas/Report_")
                    if k == "$ref"
                    else rewrite(v)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    out = {"Report": rewrite(schema)}
    out.update({f"Report_{name}": rewrite(value) for name, value in defs.items()})
    return out


def _problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem} for status in statuses}


def _bearer(request: Request, token: str | None) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return token


#: a positive decimal (no sign, no exponent), and a list of 2 to 128 of them
_WEIGHT = r"([0-9]{0,6}[1-9][0-9]{0,6}(\.[0-9]{1,6})?|0{0,6}\.[0-9]{0,6}[1-9][0-9]{0,6})"
_WEIGHTS = rf"^{_WEIGHT}(,{_WEIGHT}){{1,127}}$"


class CollectorApp(FastAPI):
    """The FastAPI app, except that ``POST /v1/aggregates`` -- nearly all of
    the traffic -- goes straight to :class:`Ingest` as a bare ASGI call,
    past the middleware stack, routing and dependency machinery (which cost
    about as much CPU per report as the checks and the store together).
    The route stays declared below, with its OpenAPI metadata, and answers
    the same if it is ever reached."""

    ingest: Ingest | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.ingest is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == scope.get("root_path", "") + "/v1/aggregates"
        ):
            await self.ingest(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    db_url: str = "sqlite:///pytrigger.db",
    *,
    static_dir: Path | None = None,
    loopback: bool = False,
) -> CollectorApp:
    """The collector.  Tables are created on start.  ``loopback`` (the server
    is bound to a loopback address) lets ``/v1/report`` answer without a token."""
    engine = store.connect(db_url)
    ingest = Ingest(engine)
    app = CollectorApp(
        title="pytrigger collector",
        version=_VERSION,
        docs_url=None,
        redoc_url=None,
        description="Anonymized aggregates of pytrigger's in-browser trigger engine.",
    )
    app.state.engine = engine
    app.state.ingest = ingest
    app.ingest = ingest

    @app.post(
        "/v1/aggregates",
        status_code=202,
        response_model=Accepted,
        responses=_problem_responses(403, 413, 422, 429, 503),
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "One report (report.schema.json); sent as "
                "text/plain by sendBeacon or as application/json; at most 64 KiB.",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Report"}}
                },
            }
        },
    )
    async def post_aggregates(request: Request) -> Response:
        """Take one page session's report: 202, or 413/422/403/429 (in that order), or
        503 when the database failed."""
        return await ingest.post(request)

    @app.options("/v1/aggregates", include_in_schema=False)
    async def preflight(request: Request) -> Response:
        return await ingest.preflight(request)

    @app.get(
        "/v1/report",
        response_model=ReportFigures,
        responses=_problem_responses(401, 404),
    )
    async def get_report(
        request: Request,
        site: str = Query(description="the site's public key (or its name)", max_length=64),
        token: str | None = Query(None, description="the site's read token", max_length=128),
        since: int | None = Query(None, ge=0, le=10_000_000, description="first hour"),
        until: int | None = Query(None, ge=0, le=10_000_000, description="last hour"),
        weights: str | None = Query(
            None,
            description="the experiments' arm weights, e.g. 0.5,0.5 (positive, normalized), "
            "for the sample-ratio test of experiments with that many arms; equal shares "
            "otherwise",
            max_length=1000,
            pattern=_WEIGHTS,
        ),
    ) -> Any:
        """The site's figures with 95 % intervals; figures on fewer than 50
        reports are withheld."""
        shares = None if weights is None else [float(w) for w in weights.split(",")]
        found = await readable_site(request, site, token)
        if isinstance(found, Response):
            return found
        return await run_in_threadpool(
            build_report, engine, found, since=since, until=until, weights=shares
        )

    async def readable_site(
        request: Request, site: str | None, token: str | None
    ) -> store.Site | Response:
        """The site whose figures may be read, or the 401/404 answer: off
        loopback, a missing or wrong token and an unknown site look the same."""
        found = None
        if site is not None:
            found = await run_in_threadpool(store.find_site, engine, site)
            if found is None:
                found = await run_in_threadpool(store.find_site, engine, site, by_name=True)
        if not loopback and (
            found is None or not store.token_matches(found, _bearer(request, token))
        ):
            return JSONResponse(
                {"detail": "a valid read token for this site is required"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if found is None:
            return JSONResponse({"detail": "unknown site"}, status_code=404)
        return found

    @app.get("/dashboard", include_in_schema=False)
    async def get_dashboard(
        request: Request,
        site: str | None = Query(None, max_length=64),
        token: str | None = Query(None, max_length=128),
    ) -> Response:
        """The dashboard page (it fetches ``/v1/report`` itself); same token
        rule as ``/v1/report``."""
        found = await readable_site(request, site, token)
        if isinstance(found, Response):
            return found
        return dashboard_page(static_dir)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                report_components()
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    if static_dir is not None:
        try:
            from pytrigger.collector.static_files import (  # type: ignore[import-not-found,unused-ignore]
                static_routes,
            )
        except ImportError:
            print("pytrigger: static files not served (no static_files module)", file=sys.stderr)
        else:
            app.router.routes.extend([*dashboard_assets(static_dir), *static_routes(static_dir)])
    return app


def app_from_env() -> CollectorApp:
    """A factory for ``uvicorn --factory`` (several worker processes):
    ``PYTRIGGER_DB`` (database URL), ``PYTRIGGER_STATIC`` (static dir, optional),
    ``PYTRIGGER_LOOPBACK`` (``1``: no token needed for ``/v1/report``)."""
    static = os.environ.get("PYTRIGGER_STATIC")
    return create_app(
        os.environ.get("PYTRIGGER_DB", "sqlite:///pytrigger.db"),
        static_dir=Path(static) if static else None,
        loopback=os.environ.get("PYTRIGGER_LOOPBACK") == "1",
    )
