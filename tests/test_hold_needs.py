"""The pointer boundaries the shim holds change no decision.

``Engine.hold_needs()`` tells the shim how long it may hold a ``pointerenter``
on each trigger's target (and the ``pointerleave`` after it, while the enter is
still held) before sending it: web/pytrigger.js sends held boundaries with the
next thing it sends, or when the hold runs out.  Meanwhile the worker's timer
moves the engine on, so a held boundary comes in late, which ``Engine.feed``
takes.  The property: over random visits, an engine fed the way the shim and
the worker would (the same rule, in Python) decides exactly what an engine fed
every event at its own time decides, at the same moments.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytrigger.config import load_config
from pytrigger.decisions import Decision
from pytrigger.engine import HOLD_MARGIN_MS, Engine
from pytrigger.errors import EventError
from pytrigger.events import Event, parse_event

CARD = ["card", "short", "clicky"]  # the triggers on .card, in trigger order
OTHER = ["other"]
CONFIG = {
    "version": 1,
    "triggers": [
        {  # dwell, held for a while, then a cool-down whose end is a worker tick
            "id": "card",
            "target": ".card",
            "when": {"signal": "dwell_ms", "gte": 500},
            "hold_ms": 100,
            "cooldown_ms": 400,
        },
        {  # dwell that must stay short, with rage clicks: true outside the card too
            "id": "short",
            "target": ".card",
            "when": {
                "all": [
                    {"not": {"signal": "dwell_ms", "gt": 800}},
                    {"signal": "rage_clicks", "gte": 2},
                ]
            },
            "cooldown_ms": 300,
        },
        {  # reads no dwell: its boundaries may wait for anything else
            "id": "clicky",
            "target": ".card",
            "when": {"signal": "rage_clicks", "gte": 3},
            "cooldown_ms": 200,
        },
        {  # another target, a shorter dwell
            "id": "other",
            "target": ".other",
            "when": {"signal": "dwell_ms", "lt": 250},
            "hold_ms": 50,
            "cooldown_ms": 250,
        },
        {  # a plain dwell: a leave once it has decided may wait too
            "id": "plain",
            "target": ".plain",
            "when": {"signal": "dwell_ms", "gt": 300},
            "cooldown_ms": 200,
        },
    ],
}
PLAIN = ["plain"]


def test_the_config_above_holds_every_target() -> None:
    holds = Engine(load_config(CONFIG)).hold_needs()
    assert holds == {
        "card": 400.0,
        "short": 700.0,
        "clicky": None,
        "other": 150.0,
        "plain": 200.0,
    }
    assert HOLD_MARGIN_MS == 100.0
    # a leave after the enter went: only a plain threshold that has decided
    assert Engine(load_config(CONFIG)).leave_holds() == {"clicky": 0.0, "plain": 300.0}


@pytest.mark.parametrize(
    ("extra", "held"),
    [
        # idle_ms reads every input: nothing may wait
        ({"id": "idle", "when": {"signal": "idle_ms", "gte": 1000}}, set()),
        # an enter confirms this gate: its boundaries go at once
        (
            {
                "id": "gated",
                "target": ".card",
                "when": {"signal": "rage_clicks", "gte": 2},
                "gate": {"confirm": ["pointerenter"], "within_ms": 400},
            },
            {"card", "short", "clicky", "other", "plain"},
        ),
        # a dwell threshold too short to be worth a hold
        (
            {"id": "quick", "target": ".card", "when": {"signal": "dwell_ms", "gte": 120}},
            {"card", "short", "clicky", "other", "plain"},
        ),
    ],
)
def test_what_may_not_be_held(extra: dict[str, Any], held: set[str]) -> None:
    config = {**CONFIG, "triggers": [*CONFIG["triggers"], extra]}  # type: ignore[list-item]
    assert set(Engine(load_config(config)).hold_needs()) == held


def test_an_enter_that_comes_late_counts_from_its_own_time() -> None:
    engine = Engine(load_config(CONFIG))
    engine.feed(parse_event({"t": 100.0, "type": "click", "x": 1.0, "y": 1.0, "targets": CARD}))
    engine.advance(350.0)  # the worker's timer, while the page holds the enter at 150
    assert engine.now > 150.0
    assert engine.feed(Event(150.0, "pointerenter", targets=("card",))) == []
    fired = [d for d in engine.advance(2000.0) if d.kind == "fire"]
    assert [(d.trigger, d.t) for d in fired] == [("card", 750.0)]  # 150 + 500 + hold 100


def test_other_events_may_not_come_late() -> None:
    engine = Engine(load_config(CONFIG))
    engine.advance(500.0)
    engine.feed(Event(600.0, "click", x=1.0, y=1.0, targets=tuple(CARD)))
    with pytest.raises(EventError, match="goes backwards"):
        engine.feed(Event(550.0, "click", x=1.0, y=1.0, targets=tuple(CARD)))


# -- the property ---------------------------------------------------------------

ACTIONS = st.sampled_from(
    ["card", "card", "other", "other", "plain", "plain", "click", "click", "key"]
)
VISITS = st.lists(st.tuples(st.floats(0, 400), ACTIONS), min_size=1, max_size=60)


def _trace(steps: list[tuple[float, str]]) -> list[dict[str, Any]]:
    """A visit: the pointer goes in and out of a card and another target
    (boundaries alternate, as the shim makes them), clicks, keys."""
    t, inside, trace = 0.0, {"card": False, "other": False, "plain": False}, []
    groups = {"card": CARD, "other": OTHER, "plain": PLAIN}
    for gap, action in steps:
        t += gap
        if action in inside:
            kind = "pointerleave" if inside[action] else "pointerenter"
            inside[action] = not inside[action]
            trace.append({"t": t, "type": kind, "targets": groups[action]})
        elif action == "click":
            targets = CARD if inside["card"] else []
            trace.append({"t": t, "type": "click", "x": 5.0, "y": 5.0, "targets": targets})
        else:
            trace.append({"t": t, "type": "keydown", "key": "char"})
    return trace


def _every_event_at_its_time(trace: list[dict[str, Any]]) -> list[Decision]:
    engine = Engine(load_config(CONFIG))
    out: list[Decision] = []
    for obj in trace:
        out += engine.feed(parse_event(obj))
    return out + engine.advance(trace[-1]["t"] + 10_000)


def _as_the_shim_sends(trace: list[dict[str, Any]]) -> list[Decision]:
    """web/pytrigger.js's rule: hold an enter whose every trigger has a hold, and
    a leave of ids whose enter is still held or whose dwell has decided
    (``leave_holds``); send the held ones before anything else, or when the
    first hold of a target still entered runs out.  The worker's timer runs
    every deadline before a message arrives."""
    engine = Engine(load_config(CONFIG))
    holds, leaves = engine.hold_needs(), engine.leave_holds()
    entered_at: dict[str, float] = {}
    sends: list[tuple[float, list[dict[str, Any]]]] = []
    held: list[dict[str, Any]] = []
    held_in: dict[str, float] = {}  # id -> when its hold runs out (inf: never)

    def due() -> float:
        return min(held_in.values(), default=math.inf)

    for obj in trace:
        if held and due() <= obj["t"]:  # the hold timer
            sends.append((due(), held))
            held, held_in = [], {}
        ids = obj.get("targets", [])
        if obj["type"] == "pointerenter":
            entered_at.update((i, obj["t"]) for i in ids)
        if obj["type"] == "pointerenter" and all(i in holds for i in ids):
            held.append(obj)
            for i in ids:
                hold = holds[i]
                held_in[i] = math.inf if hold is None else obj["t"] + hold
            continue
        if obj["type"] == "pointerleave" and all(
            i in held_in or (i in leaves and obj["t"] - entered_at[i] > leaves[i]) for i in ids
        ):
            held.append(obj)
            for i in ids:
                held_in.pop(i, None)
            continue
        sends.append((obj["t"], [*held, obj]))
        held, held_in = [], {}
    if held and due() < math.inf:  # else they wait for a message that never comes
        sends.append((due(), held))
    out: list[Decision] = []
    for at, events in sends:
        out += engine.advance(at)  # the worker's timer, before the message
        for obj in events:
            out += engine.feed(parse_event(obj))
    return out + engine.advance(trace[-1]["t"] + 10_000)


@settings(max_examples=500, deadline=None)
@given(VISITS)
def test_the_boundaries_the_shim_holds_change_no_decision(
    steps: list[tuple[float, str]],
) -> None:
    trace = _trace(steps)
    assert _as_the_shim_sends(trace) == _every_event_at_its_time(trace)
