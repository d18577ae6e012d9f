"""Fake-time helpers for engine tests (RxPY style): a list of events with their
``t`` in, a list of ``(t, decision)`` out.

>>> config = one_trigger({"signal": "dwell_ms", "gte": 500}, target=".card")
>>> run(config, [ev(100, "pointerenter", "t")], until=1000)
[(600.0, 'fire')]

- :func:`trigger` / :func:`config` / :func:`one_trigger` build config dicts and
  compile them with :func:`pytrigger.config.load_config`;
- :func:`ev` builds one trace-format event (a dict), ``targets`` positional;
- :func:`run` feeds a trace through a fresh :class:`Engine` (then advances to
  ``until``) and returns compact tuples: ``(t, kind)``, ``(t, kind, reason)``
  for ``suppressed``; with ``ids=True`` the trigger id comes second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pytrigger.config import load_config
from pytrigger.decisions import Decision
from pytrigger.engine import Engine
from pytrigger.events import Event, parse_event
from pytrigger.triggers import Config

__all__ = ["compact", "config", "ev", "events", "one_trigger", "run", "run_engine", "trigger"]

#: the id :func:`one_trigger` gives its trigger
TID = "t"


def trigger(when: dict[str, Any], id: str = TID, **fields: Any) -> dict[str, Any]:
    """A trigger object of config v1 (``target`` etc. as keyword fields)."""
    return {"id": id, "when": when, **fields}


def config(*triggers: dict[str, Any]) -> Config:
    return load_config({"version": 1, "triggers": list(triggers)})


def one_trigger(when: dict[str, Any], **fields: Any) -> Config:
    """A config with one trigger ``"t"``; ``cooldown_ms`` etc. as keywords."""
    return config(trigger(when, **fields))


def ev(t: float, type: str, *targets: str, **fields: Any) -> dict[str, Any]:
    """One trace-format event, e.g. ``ev(100, "click", "t", x=1, y=2)``."""
    out: dict[str, Any] = {"t": t, "type": type, **fields}
    if targets:
        out["targets"] = list(targets)
    return out


def events(trace: Iterable[dict[str, Any] | Event]) -> list[Event]:
    return [e if isinstance(e, Event) else parse_event(e) for e in trace]


def compact(decisions: Iterable[Decision], ids: bool = False) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for d in decisions:
        row: tuple[Any, ...] = (d.t, d.trigger, d.kind) if ids else (d.t, d.kind)
        if d.reason is not None:
            row += (d.reason,)
        out.append(row)
    return out


def run_engine(
    engine: Engine, trace: Sequence[dict[str, Any] | Event], until: float | None = None
) -> list[Decision]:
    """Feed ``trace`` (deadlines honoured between events), then advance to ``until``."""
    out: list[Decision] = []
    for event in events(trace):
        out.extend(engine.feed(event))
    if until is not None:
        out.extend(engine.advance(until))
    return out


def run(
    cfg: Config,
    trace: Sequence[dict[str, Any] | Event],
    until: float | None = None,
    ids: bool = False,
) -> list[tuple[Any, ...]]:
    """Decisions of a fresh engine over ``trace``, as compact tuples."""
    return compact(run_engine(Engine(cfg), trace, until), ids=ids)
