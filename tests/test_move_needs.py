"""The pointer moves the shim leaves out change no decision.

``Engine.move_needs()`` tells the shim which ``pointermove`` events can matter
(web/pytrigger.js listens to moves only while one can).  The property: over
random traces, an engine fed only the moves the shim would send (the same
rule, in Python) decides exactly what an engine fed every move decides.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pytrigger.config import load_config
from pytrigger.decisions import Decision
from pytrigger.engine import Engine
from pytrigger.events import parse_event

CONFIG = {
    "version": 1,
    "triggers": [
        {  # a gate that a move confirms
            "id": "gated",
            "target": ".card",
            "when": {"signal": "dwell_ms", "gte": 300},
            "hold_ms": 100,
            "cooldown_ms": 500,
            "gate": {"confirm": ["pointermove"], "within_ms": 400},
        },
        {  # ends at the first move after leaving the page
            "id": "bye",
            "when": {"signal": "exit_intent", "eq": 1},
            "cooldown_ms": 300,
        },
        {  # a pointer held down while moving suppresses it
            "id": "clicky",
            "target": ".card",
            "when": {"signal": "rage_clicks", "gte": 2},
            "cooldown_ms": 200,
            "suppress_when": ["dragging"],
        },
    ],
}


def _event(t: float, kind: str) -> dict[str, Any]:
    if kind == "pointermove":
        return {"t": t, "type": "pointermove", "x": 10.0, "y": 10.0}
    if kind == "leave":
        return {"t": t, "type": "leave", "x": 10.0, "y": 0.0}
    if kind in ("pointerenter", "pointerleave"):
        return {"t": t, "type": kind, "targets": ["gated", "clicky"]}
    if kind in ("pointerdown", "pointerup", "click"):
        return {"t": t, "type": kind, "x": 10.0, "y": 10.0, "targets": ["gated", "clicky"]}
    return {"t": t, "type": kind}


KINDS = st.sampled_from(
    ["pointermove"] * 6
    + ["leave", "pointerenter", "pointerleave", "pointerdown", "pointerup", "click", "click"]
)
TRACES = st.lists(st.tuples(st.floats(0, 250), KINDS), min_size=1, max_size=80)


def _run(trace: list[dict[str, Any]], shim_rule: bool) -> list[Decision]:
    engine = Engine(load_config(CONFIG))
    needs = engine.move_needs()
    gates = set(needs["gates"])  # type: ignore[arg-type]
    open_gates: set[str] = set()
    down_no_move = left_no_move = False
    out: list[Decision] = []

    def learn(decisions: list[Decision]) -> None:  # what the shim learns from decisions
        for d in decisions:
            if d.trigger in gates:
                if d.kind == "gate":
                    open_gates.add(d.trigger)
                elif d.kind in ("fire", "expire"):
                    open_gates.discard(d.trigger)
        out.extend(decisions)

    for obj in trace:
        learn(engine.advance(obj["t"]))  # the worker's timer, before the event arrives
        kind = obj["type"]
        if kind == "pointermove":
            wanted = (
                needs["all"]
                or (needs["pressed"] and down_no_move)
                or (needs["leave"] and left_no_move)
                or bool(open_gates)
            )
            down_no_move = left_no_move = False
            if shim_rule and not wanted:
                continue
            open_gates.clear()
        elif kind == "pointerdown":
            down_no_move = True
        elif kind == "pointerup":
            down_no_move = False
        elif kind == "leave":
            left_no_move = True
        learn(engine.feed(parse_event(obj)))
    out += engine.advance(trace[-1]["t"] + 10_000)
    return out


@settings(max_examples=400, deadline=None)
@given(TRACES)
def test_the_moves_the_shim_leaves_out_change_no_decision(steps: list[tuple[float, str]]) -> None:
    t, trace = 0.0, []
    for gap, kind in steps:
        t += gap
        trace.append(_event(t, kind))
    assert _run(trace, shim_rule=True) == _run(trace, shim_rule=False)


def test_the_config_above_needs_every_kind_of_move() -> None:
    needs = Engine(load_config(CONFIG)).move_needs()
    assert needs == {"all": False, "pressed": True, "leave": True, "gates": ["gated"]}
