"""Trace event format v1 (DESIGN.md §3) → frozen :class:`Event`.

The shim sends these events; ``pytrigger simulate`` reads them one JSON object
a line.  :func:`parse_event` checks one decoded object and says exactly why it
is malformed (:class:`~pytrigger.errors.EventError`); unknown fields are
ignored.

>>> parse_event({"t": 12.5, "type": "keydown", "targets": ["search"], "key": "char"})
Event(t=12.5, type='keydown', targets=('search',), key='char')
>>> parse_event({"t": 1, "type": "keydown", "key": "a"})
Traceback (most recent call last):
...
pytrigger.errors.EventError: key: expected one of backspace, char, enter, nav, other
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from pytrigger.errors import EventError
from pytrigger.triggers import EVENT_TYPES

__all__ = ["KEY_CLASSES", "POINTER_KINDS", "Event", "parse_event"]

KEY_CLASSES: frozenset[str] = frozenset({"char", "backspace", "enter", "nav", "other"})
POINTER_KINDS: frozenset[str] = frozenset({"mouse", "touch", "pen"})

_NUMBER_FIELDS = ("x", "y", "scroll_y", "viewport_h", "doc_h", "viewport_w")
#: fields an event of a type must carry
_REQUIRED: dict[str, tuple[str, ...]] = {
    "click": ("x", "y"),
    "leave": ("x", "y"),
    "scroll": ("scroll_y", "viewport_h", "doc_h"),
    "keydown": ("key",),
    "visibility": ("state",),
    "selection": ("state",),
    "consent": ("state",),
    "goal": ("name",),
    "dismiss": ("name",),
}


@dataclass(frozen=True, slots=True)
class Event:
    """One input event.  ``t`` is ms since page start; ``targets`` are the ids
    of the triggers whose ``target`` matches the event's element (or an
    ancestor)."""

    t: float
    type: str
    targets: tuple[str, ...] = ()
    x: float | None = None
    y: float | None = None
    scroll_y: float | None = None
    viewport_h: float | None = None
    doc_h: float | None = None
    key: str | None = None
    state: str | bool | None = None
    name: str | None = None
    pointer: str | None = None
    viewport_w: float | None = None

    def __repr__(self) -> str:  # only the fields that are set, for readable tests
        shown = [f"t={self.t!r}", f"type={self.type!r}"]
        for f in fields(self)[2:]:
            value = getattr(self, f.name)
            if value is not None and value != ():
                shown.append(f"{f.name}={value!r}")
        return f"Event({', '.join(shown)})"

    def to_json(self) -> dict[str, Any]:
        """The trace-format object for this event (fields that are set)."""
        out: dict[str, Any] = {"t": self.t, "type": self.type}
        for f in fields(self)[2:]:
            value = getattr(self, f.name)
            if value is not None and value != ():
                out[f.name] = list(value) if f.name == "targets" else value
        return out


def _number(obj: dict[str, Any], name: str) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError(f"{name}: expected a number")
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        raise EventError(f"{name}: expected a finite number") from None
    if not math.isfinite(number):
        raise EventError(f"{name}: expected a finite number")
    return number


def parse_event(obj: object) -> Event:
    """Check one decoded trace object and build its :class:`Event`.

    Raises :class:`EventError` naming the first thing wrong."""
    if not isinstance(obj, dict):
        raise EventError("expected a JSON object")
    t = _number(obj, "t")
    if t is None:
        raise EventError("t: missing")
    if t < 0:
        raise EventError("t: must not be negative")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise EventError("type: missing" if kind is None else "type: expected a string")
    if kind not in EVENT_TYPES:
        raise EventError(f"type: unknown event type {kind!r}")
    for name in _REQUIRED.get(kind, ()):
        if obj.get(name) is None:
            raise EventError(f"{name}: missing (required for {kind})")

    raw_targets = obj.get("targets", ())
    if raw_targets is None:
        raw_targets = ()
    if not isinstance(raw_targets, list | tuple) or not all(
        isinstance(target, str) for target in raw_targets
    ):
        raise EventError("targets: expected a list of trigger ids")

    numbers = {name: _number(obj, name) for name in _NUMBER_FIELDS}
    if kind == "scroll" and (numbers["doc_h"] or 0.0) <= 0:
        raise EventError("doc_h: must be positive")

    key = obj.get("key")
    if key is not None and (not isinstance(key, str) or key not in KEY_CLASSES):
        raise EventError("key: expected one of " + ", ".join(sorted(KEY_CLASSES)))

    state: str | bool | None = obj.get("state")
    if kind == "visibility" and (not isinstance(state, str) or state not in ("visible", "hidden")):
        raise EventError("state: expected 'visible' or 'hidden'")
    if kind in ("selection", "consent") and not isinstance(state, bool):
        raise EventError("state: expected true or false")
    if kind not in ("visibility", "selection", "consent"):
        state = None  # not meaningful here: ignored like an unknown field

    named = obj.get("name")
    if named is not None and not isinstance(named, str):
        raise EventError("name: expected a string")
    pointer = obj.get("pointer")
    if pointer is not None and (not isinstance(pointer, str) or pointer not in POINTER_KINDS):
        raise EventError("pointer: expected 'mouse', 'touch' or 'pen'")

    return Event(
        t=t,
        type=kind,
        targets=tuple(raw_targets),
        key=key,
        state=state,
        name=named,
        pointer=pointer,
        **numbers,
    )
