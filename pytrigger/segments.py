"""Behavioural segments and per-visitor adaptation, from local state only (DESIGN.md §6).

Theory of operation
-------------------
A visitor's *local state* summarises their earlier page sessions.  The page
keeps it in ``localStorage["pytrigger:state"]``, and only with consent; it is
never sent.  Its shape (every field optional; anything malformed is ignored,
never raised)::

    {"version": 1,
     "sessions": 4,                    # page sessions seen before this one
     "typing_rate": 5.2,               # keys/s inside typing bursts (EW mean over sessions)
     "last": {"rage_clicks": 3,        # the previous session's longest rage streak,
              "hesitation_ms": 12000,  #   its longest pause while typing in a field,
              "dismissals": 1},        #   and how many interventions were dismissed
     "dismissals": {"quick-search": 2},  # per trigger, all sessions (capped at 10)
     "context": {"pointer": "mouse", "viewport_w": 1280}}  # this page's device, not stored

**The segment** is decided once, when the page session starts
(:func:`decide_segment`), the first that matches in this order:

- ``frustrated``: the previous session had a rage-click streak of at least
  ``rage_clicks`` (3), a hesitation of at least ``hesitation_ms`` (10 s), or
  at least ``dismissals`` (2) dismissals;
- ``new``: no earlier session (``sessions`` is 0 — so every session of a
  visitor who never consented to storage is ``new``);
- ``power``: at least ``sessions`` (5) earlier sessions and a typing rate of
  at least ``keystroke_rate`` (4 keys/s);
- the site's own segments, in config order: the first whose ``when`` holds at
  the session's start, where the page-level signals read their start values
  and the device context (``pointer``, ``viewport_w``) is the page's.

Deciding once keeps a session's thresholds stable and its aggregates clean
(a report has one segment).  The thresholds are the config's
``segments.thresholds`` (:class:`~pytrigger.triggers.SegmentSettings`).

**Adaptation.**  A trigger the visitor keeps dismissing backs off: with ``n``
dismissals of it in the local state, every threshold of its (resolved)
condition is raised by the factor ``min(ADAPT_MAX, ADAPT_STEP ** n)``
(:func:`adapt_trigger`): every ``gt``/``gte`` threshold is multiplied by it,
so the trigger needs more of what it reacts to (a longer hesitation, more
pauses, a faster scroll).  Upper bounds (``lt``/``lte``: a window's end, a
"barely scrolled" filter), ``eq``, anything under a ``not`` and the binary or
device signals are left alone, so a window ``[2.5 s, 4 s)`` becomes
``[3.125 s, 4 s)`` rather than closing.  A confirmed
intervention (the trigger fired and no dismissal followed) keeps the factor
where it is: nothing lowers it but clearing the state (``consent(false)``).
With the defaults: 1 dismissal gives 1.25, 2 give 1.5625, 3 or more give 2 at most.

**The next state** is computed by :class:`SessionHistory`, fed every event of
the session (sans-IO: it reads ``t`` from the events), and returned by
:meth:`SessionHistory.next_state`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from pytrigger.conditions import All, AnyOf, AtLeast, Condition, Leaf, Not
from pytrigger.events import Event
from pytrigger.triggers import SegmentDef, SegmentSettings, Trigger

__all__ = [
    "ADAPT_MAX",
    "ADAPT_STEP",
    "STATE_VERSION",
    "LocalState",
    "SessionHistory",
    "adapt_trigger",
    "adaptation_factor",
    "decide_segment",
    "parse_state",
]

STATE_VERSION = 1
#: each dismissal of a trigger makes its thresholds this much harder ...
ADAPT_STEP = 1.25
#: ... up to this factor
ADAPT_MAX = 2.0
#: dismissals kept per trigger (more change nothing: the factor is capped)
MAX_DISMISSALS = 10
#: weight of the newest session in the typing rate's EW mean
TYPING_ALPHA = 0.3
#: keys closer than this (ms) belong to one typing burst
BURST_GAP_MS = 1000.0
#: a rage streak: each click less than this after the previous one ...
RAGE_GAP_MS = 1000.0
#: ... and less than this far from it (Manhattan, px)
RAGE_DISTANCE_PX = 30.0
#: signals whose thresholds adaptation leaves alone (binary, device context)
UNADAPTED_SIGNALS = frozenset({"exit_intent", "pointer", "viewport_w"})


class LocalState:
    """The parsed local state: every field checked, a bad one read as absent."""

    __slots__ = ("context", "dismissals", "last", "sessions", "typing_rate")

    def __init__(self) -> None:
        self.sessions = 0
        self.typing_rate: float | None = None
        self.last: dict[str, float] = {}
        self.dismissals: dict[str, int] = {}
        self.context: dict[str, Any] = {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def parse_state(obj: object) -> LocalState:
    """Read a local state leniently: storage is the page's, so a field that is
    missing, of the wrong type or out of range is taken as absent.

    >>> state = parse_state({"sessions": 6, "typing_rate": "fast", "dismissals": {"q": 2}})
    >>> state.sessions, state.typing_rate, state.dismissals
    (6, None, {'q': 2})
    """
    state = LocalState()
    if not isinstance(obj, Mapping):
        return state
    sessions = _number(obj.get("sessions"))
    if sessions is not None:
        state.sessions = int(min(sessions, 1e9))
    state.typing_rate = _number(obj.get("typing_rate"))
    last = obj.get("last")
    if isinstance(last, Mapping):
        for key in ("rage_clicks", "hesitation_ms", "dismissals"):
            value = _number(last.get(key))
            if value is not None:
                state.last[key] = value
    dismissals = obj.get("dismissals")
    if isinstance(dismissals, Mapping):
        for trigger, count in dismissals.items():
            n = _number(count)
            if isinstance(trigger, str) and n is not None:
                state.dismissals[trigger] = int(min(n, MAX_DISMISSALS))
    context = obj.get("context")
    if isinstance(context, Mapping):
        if context.get("pointer") in ("mouse", "touch", "pen"):
            state.context["pointer"] = context["pointer"]
        width = _number(context.get("viewport_w"))
        if width is not None:
            state.context["viewport_w"] = width
    return state


def decide_segment(
    settings: SegmentSettings,
    state: LocalState,
    custom_holds: Callable[[SegmentDef], bool] = lambda segment: False,
) -> str | None:
    """The visitor's segment for this session (see the module's doc).

    >>> decide_segment(SegmentSettings(), parse_state(None))
    'new'
    >>> decide_segment(SegmentSettings(), parse_state({"sessions": 7, "typing_rate": 5}))
    'power'
    >>> decide_segment(SegmentSettings(), parse_state({"sessions": 7, "last": {"rage_clicks": 4}}))
    'frustrated'
    """
    last = state.last
    if (
        last.get("rage_clicks", 0) >= settings.frustrated_rage_clicks
        or last.get("hesitation_ms", 0) >= settings.frustrated_hesitation_ms
        or last.get("dismissals", 0) >= settings.frustrated_dismissals
    ):
        return "frustrated"
    if state.sessions == 0:
        return "new"
    if (
        state.sessions >= settings.power_sessions
        and state.typing_rate is not None
        and state.typing_rate >= settings.power_keystroke_rate
    ):
        return "power"
    for segment in settings.custom:
        if custom_holds(segment):
            return segment.name
    return None


def adaptation_factor(dismissals: int) -> float:
    """How much harder a trigger dismissed ``dismissals`` times gets.

    >>> [adaptation_factor(n) for n in (0, 1, 2, 3, 9)]
    [1.0, 1.25, 1.5625, 1.953125, 2.0]
    """
    return min(ADAPT_MAX, ADAPT_STEP ** max(0, dismissals))


def _harder(condition: Condition, factor: float) -> Condition:
    if isinstance(condition, Leaf):
        value = condition.value
        if isinstance(value, str) or condition.signal in UNADAPTED_SIGNALS:
            return condition
        if condition.op in ("gt", "gte"):
            return replace(condition, value=value * factor)
        return condition
    if isinstance(condition, Not):
        return condition  # "harder" is not defined under a negation: left alone
    parts = tuple(_harder(part, factor) for part in condition.parts)
    if isinstance(condition, All):
        return All(parts)
    if isinstance(condition, AnyOf):
        return AnyOf(parts)
    assert isinstance(condition, AtLeast)
    return AtLeast(condition.n, parts, condition.within_ms)


def adapt_trigger(trigger: Trigger, dismissals: int) -> Trigger:
    """``trigger`` with its ``gt``/``gte`` thresholds raised for a visitor who
    dismissed it ``dismissals`` times (the trigger itself when 0)."""
    factor = adaptation_factor(dismissals)
    if factor == 1.0:
        return trigger
    return replace(trigger, when=_harder(trigger.when, factor))


class SessionHistory:
    """What this page session adds to the local state, from its events.

    ``previous`` is the state the session started with."""

    def __init__(self, previous: LocalState) -> None:
        self.previous = previous
        self.dismissed: Counter[str] = Counter()
        self.rage_max = 0
        self.hesitation_max = 0.0
        self._rage = 0
        self._last_click: tuple[float, float, float] | None = None
        self._focus_mark: float | None = None  # focus or the last key, while a field has it
        self._burst_keys = 0
        self._burst_ms = 0.0
        self._last_key: float | None = None

    def observe(self, event: Event) -> bool:
        """Take one event; True when the next state changed in a way worth
        keeping at once (a dismissal, a longer rage streak or hesitation, a
        field left)."""
        kind, t = event.type, event.t
        if kind == "dismiss" and event.name is not None:
            self.dismissed[event.name] += 1
            return True
        if kind == "click" and event.x is not None and event.y is not None:
            last = self._last_click
            near = (
                last is not None
                and t - last[0] < RAGE_GAP_MS
                and abs(event.x - last[1]) + abs(event.y - last[2]) < RAGE_DISTANCE_PX
            )
            self._rage = self._rage + 1 if near else 1
            self._last_click = (t, event.x, event.y)
            if self._rage > self.rage_max:
                self.rage_max = self._rage
                return self._rage >= 2
            return False
        if kind == "focus":
            self._focus_mark = t
            return False
        if kind in ("keydown", "input") and self._focus_mark is not None:
            self.hesitation_max = max(self.hesitation_max, t - self._focus_mark)
            self._focus_mark = t
            if kind == "keydown":
                if self._last_key is not None and t - self._last_key < BURST_GAP_MS:
                    self._burst_keys += 1
                    self._burst_ms += t - self._last_key
                self._last_key = t
            return False
        if kind == "blur":
            self._focus_mark = None
            self._last_key = None
            return True
        return kind == "visibility" and event.state == "hidden"

    @property
    def typing_rate(self) -> float | None:
        """Keys per second inside this session's typing bursts (None: no burst)."""
        if self._burst_keys < 3 or self._burst_ms <= 0:
            return None
        return self._burst_keys / (self._burst_ms / 1000.0)

    def next_state(self) -> dict[str, Any]:
        """The local state the next page session should start from."""
        previous = self.previous
        rate = self.typing_rate
        typing = previous.typing_rate
        if rate is not None:
            typing = rate if typing is None else typing + TYPING_ALPHA * (rate - typing)
        dismissals = dict(previous.dismissals)
        for trigger, count in self.dismissed.items():
            dismissals[trigger] = min(MAX_DISMISSALS, dismissals.get(trigger, 0) + count)
        state: dict[str, Any] = {
            "version": STATE_VERSION,
            "sessions": previous.sessions + 1,
            "last": {
                "rage_clicks": self.rage_max,
                "hesitation_ms": round(self.hesitation_max, 1),
                "dismissals": sum(self.dismissed.values()),
            },
            "dismissals": dict(sorted(dismissals.items())),
        }
        if typing is not None:
            state["typing_rate"] = round(typing, 3)
        return state
