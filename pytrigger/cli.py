"""The ``pytrigger`` command line: check, simulate, serve, site (DESIGN.md §5).

``check`` and ``simulate`` need only the standard library; ``serve`` and
``site`` come from :mod:`pytrigger.collector.commands`, which needs the
``collector`` extra.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _collector_missing(args: argparse.Namespace) -> int:
    print(
        f"pytrigger {args.command}: the collector is not installed; "
        "install it with: pip install 'pytrigger[collector]'",
        file=sys.stderr,
    )
    return 2


def build_parser() -> argparse.ArgumentParser:
    from pytrigger import simulate

    parser = argparse.ArgumentParser(
        prog="pytrigger", description="Privacy-first micro-moment trigger engine."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    simulate.add_commands(commands)
    try:
        from pytrigger.collector import commands as collector_commands
    except ImportError:
        for name in ("serve", "site"):
            stub = commands.add_parser(name, help=f"({name}: needs pytrigger[collector])")
            stub.set_defaults(func=_collector_missing)
    else:
        collector_commands.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result
