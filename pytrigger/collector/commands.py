"""``pytrigger serve`` and ``pytrigger site add|token|list`` (DESIGN.md §5).

``serve`` runs the collector with uvicorn, its access log off (no client
address is ever logged), and the demo site and the static bundle when a
static folder exists (by default the repository's ``static/``).  On its first
start with an empty database it registers a ``demo`` site, public key
``demo``, whose allowed origins are the served URL, so the demo page can send
its reports at once.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

from pytrigger.collector import store

__all__ = ["add_commands", "demo_origins", "is_loopback"]

_DEFAULT_DB = "sqlite:///pytrigger.db"
_DEFAULT_STATIC = Path(__file__).resolve().parents[2] / "static"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def demo_origins(host: str, port: int) -> list[str]:
    """The origins the demo page is served from: the URL itself, and for a
    loopback or wildcard bind both ``localhost`` and ``127.0.0.1``."""
    if host in ("0.0.0.0", "::", "") or is_loopback(host):
        hosts = ["localhost", "127.0.0.1"]
        if host in ("::", "::1", "[::1]"):
            hosts.append("[::1]")
    else:
        hosts = [f"[{host}]" if ":" in host else host]
    return [f"http://{name}:{port}" for name in hosts]


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from pytrigger.collector.app import create_app

    static: Path | None = args.static
    if static is None and _DEFAULT_STATIC.is_dir():
        static = _DEFAULT_STATIC
    if static is not None and not static.is_dir():
        print(f"pytrigger serve: no such directory: {static}", file=sys.stderr)
        return 2
    loopback = is_loopback(args.host)
    engine = store.connect(args.db)
    if not store.list_sites(engine):
        origins = demo_origins(args.host, args.port)
        try:
            store.add_site(engine, "demo", origins, key="demo")
        except store.SiteError:
            pass  # another process starting on the same database was first
        else:
            print(f"registered site 'demo' (key demo) for {', '.join(origins)}", flush=True)
    engine.dispose()
    print(
        f"pytrigger collector on http://{args.host}:{args.port}/ (db {args.db}; "
        f"static {static or 'none'}; read token {'not needed' if loopback else 'required'})",
        flush=True,
    )
    if args.workers > 1:
        from uvicorn.supervisors import Multiprocess

        from pytrigger.collector.tcp import TcpConfig

        os.environ["PYTRIGGER_DB"] = args.db
        os.environ["PYTRIGGER_STATIC"] = str(static) if static is not None else ""
        os.environ["PYTRIGGER_LOOPBACK"] = "1" if loopback else "0"
        config = TcpConfig(
            "pytrigger.collector.app:app_from_env",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            access_log=False,
            server_header=False,
            proxy_headers=False,
        )
        # what uvicorn.run does for workers > 1, with TcpConfig's socket
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    app = create_app(args.db, static_dir=static, loopback=loopback)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )
    return 0


def _fail(error: Exception) -> int:
    print(f"pytrigger site: {error}", file=sys.stderr)
    return 1


def _site_add(args: argparse.Namespace) -> int:
    try:
        site = store.add_site(
            store.connect(args.db), args.name, args.origin, rate=args.rate, burst=args.burst
        )
    except store.SiteError as error:
        return _fail(error)
    print(
        f"site {site.name}: origins {' '.join(site.origins)}; rate {site.rate:g}/s, "
        f"burst {site.burst}"
    )
    print(f"public site key: {site.key}")
    return 0


def _site_token(args: argparse.Namespace) -> int:
    try:
        token = store.set_token(store.connect(args.db), args.name)
    except store.SiteError as error:
        return _fail(error)
    print("new read token (shown once; any earlier token no longer works):")
    print(token)
    return 0


def _site_list(args: argparse.Namespace) -> int:
    engine = store.connect(args.db)
    for site in store.list_sites(engine):
        print(
            f"{site.name}\tkey {site.key}\trate {site.rate:g}/s burst {site.burst}\t"
            f"token {'set' if site.token_hash else 'none'}\treports "
            f"{store.count_reports(engine, site.id)}\torigins {' '.join(site.origins)}"
        )
    return 0


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=_DEFAULT_DB,
        metavar="URL",
        help=f"database URL (default {_DEFAULT_DB}; postgresql://... for PostgreSQL)",
    )


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``serve`` and ``site`` on the ``pytrigger`` command line."""
    serve = subparsers.add_parser("serve", help="run the collector, the demo and the bundle")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    _db(serve)
    serve.add_argument(
        "--static",
        type=Path,
        metavar="DIR",
        help="static folder to serve (default: the repository's static/)",
    )
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="uvicorn worker processes (rate limits are per process)",
    )
    serve.set_defaults(func=_serve)

    site = subparsers.add_parser("site", help="register and manage sites")
    actions = site.add_subparsers(dest="site_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="register a site; prints its public key last")
    add.add_argument("name")
    add.add_argument(
        "--origin",
        action="append",
        required=True,
        metavar="URL",
        help="an allowed origin, e.g. https://example.org (repeatable)",
    )
    add.add_argument(
        "--rate",
        type=_positive_float,
        default=100.0,
        help="reports per second, per collector process (default 100)",
    )
    add.add_argument("--burst", type=_positive_int, default=1000, help="burst size (default 1000)")
    _db(add)
    add.set_defaults(func=_site_add)
    token = actions.add_parser("token", help="print a new read token for /v1/report")
    token.add_argument("name")
    _db(token)
    token.set_defaults(func=_site_token)
    listing = actions.add_parser("list", help="list the sites")
    _db(listing)
    listing.set_defaults(func=_site_list)
