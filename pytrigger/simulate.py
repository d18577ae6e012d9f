"""``pytrigger check`` and ``pytrigger simulate`` (DESIGN.md §5).

``simulate`` replays a trace (trace format v1, one JSON object a line) through
the engine exactly as the browser would run it, and prints one JSON object a
line per decision.  A malformed line — not JSON, not a valid event, or a ``t``
that goes backwards — is reported on stderr as ``FILE:N: reason`` and skipped;
the run goes on, and exits 0 whenever the config is valid.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TextIO

from pytrigger.config import load_config
from pytrigger.decisions import Decision
from pytrigger.engine import Engine
from pytrigger.errors import ConfigError, ConfigProblem, EventError
from pytrigger.events import parse_event
from pytrigger.triggers import Config

__all__ = ["add_commands", "read_config", "replay"]


def read_config(path: str) -> Config:
    """Load and validate a config file; every failure is a :class:`ConfigError`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([ConfigProblem("", f"cannot read {path}: {error.strerror}")]) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        message = f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        raise ConfigError([ConfigProblem("", message)]) from None
    return load_config(document)


def replay(
    engine: Engine, lines: Iterable[str], source: str, errors: IO[str]
) -> Iterator[Decision]:
    """Feed trace lines to ``engine``; yield decisions; report bad lines."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            try:
                obj: Any = json.loads(line)
            except json.JSONDecodeError as error:
                raise EventError(f"invalid JSON: {error.msg}") from None
            yield from engine.feed(parse_event(obj))
        except EventError as error:
            print(f"{source}:{number}: {error.reason}", file=errors)


def _check(args: argparse.Namespace) -> int:
    try:
        config = read_config(args.config)
    except ConfigError as error:
        for problem in error.problems:
            print(f"{args.config}: {problem}" if not problem.path else str(problem))
        return 1
    print(f"{args.config}: valid ({len(config.triggers)} triggers)")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    try:
        config = read_config(args.config)
    except ConfigError as error:
        for problem in error.problems:
            print(f"{args.config}: {problem}", file=sys.stderr)
        return 1
    state: dict[str, object] | None = None
    if args.state is not None:
        try:
            loaded = json.loads(Path(args.state).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            print(f"{args.state}: cannot read local state: {error}", file=sys.stderr)
            return 1
        if not isinstance(loaded, dict):
            print(f"{args.state}: local state must be a JSON object", file=sys.stderr)
            return 1
        state = loaded
    engine = Engine(config, unit_id=args.unit_id, state=state)
    out: TextIO = sys.stdout
    if args.trace == "-":
        decisions = replay(engine, sys.stdin, "<stdin>", sys.stderr)
        for decision in decisions:
            out.write(json.dumps(decision.to_json()) + "\n")
        return 0
    try:
        with open(args.trace, encoding="utf-8") as trace:
            for decision in replay(engine, trace, args.trace, sys.stderr):
                out.write(json.dumps(decision.to_json()) + "\n")
    except OSError as error:
        print(f"{args.trace}: cannot read trace: {error.strerror}", file=sys.stderr)
        return 1
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser("check", help="validate a config (exit 1 with its problems)")
    check.add_argument("config", metavar="CONFIG")
    check.set_defaults(func=_check)

    simulate = commands.add_parser("simulate", help="replay a trace through the engine")
    simulate.add_argument("--config", required=True, metavar="CONFIG")
    simulate.add_argument("trace", metavar="TRACE.jsonl", help="trace file, or - for stdin")
    simulate.add_argument("--unit-id", help="the unit experiments are assigned on")
    simulate.add_argument("--state", metavar="FILE", help="local state of a returning visitor")
    simulate.set_defaults(func=_simulate)
