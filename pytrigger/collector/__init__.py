"""The pytrigger collector: a server that takes anonymized aggregate reports
and releases figures (DESIGN.md §7).

Server-side only (FastAPI, SQLAlchemy Core, uvicorn: the ``collector`` extra);
it is never part of the wheel the browser loads.  :func:`create_app` builds
the ASGI app; ``pytrigger serve`` runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["create_app"]

if TYPE_CHECKING:
    from pytrigger.collector.app import create_app


def __getattr__(name: str) -> Any:
    # Lazy, so that ``pytrigger.collector.commands`` (imported by the CLI to
    # register its sub-commands) does not import FastAPI on every command.
    if name == "create_app":
        from pytrigger.collector.app import create_app

        return create_app
    raise AttributeError(name)
