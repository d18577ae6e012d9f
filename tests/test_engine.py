"""pytrigger.engine: the sans-IO driver — deadlines vs events, the first
evaluation at t = 0, time order, ``next_deadline``, ``feed`` / ``feed_json``
(malformed input dropped and counted), exposures, ``advance``."""

from __future__ import annotations

import doctest
import math
from typing import Any

import enginekit
import pytest
from enginekit import TID, config, ev, one_trigger, run, run_engine, trigger

from pytrigger import engine as engine_module
from pytrigger.engine import Engine
from pytrigger.errors import EventError
from pytrigger.events import Event, parse_event

DWELL = {"signal": "dwell_ms", "gte": 500}
EXIT = {"signal": "exit_intent", "eq": 1}
GATE = {"confirm": ["click"], "within_ms": 1000}


def leave(t: float) -> dict[str, Any]:
    return ev(t, "leave", x=100, y=0)


def move(t: float) -> dict[str, Any]:
    return ev(t, "pointermove", x=100, y=300)


def dwell_engine(**fields: Any) -> Engine:
    return Engine(one_trigger(DWELL, target=".card", **fields))


def test_doctests() -> None:
    assert doctest.testmod(engine_module).failed == 0
    assert doctest.testmod(enginekit).failed == 0


# == deadlines before events ==================================================


def test_deadline_and_event_at_the_same_t_deadline_first() -> None:
    trace = [ev(100, "pointerenter", TID), ev(600, "pointerleave", TID)]
    assert run(one_trigger(DWELL, target=".c"), trace) == [(600.0, "fire")]


def test_gate_expiry_before_a_confirming_event_at_the_same_t() -> None:
    cfg = one_trigger(EXIT, gate=GATE)
    trace = [leave(0), ev(1000, "click", x=1, y=1)]
    assert run(cfg, trace) == [(0.0, "gate"), (1000.0, "expire")]


def test_deadline_decision_comes_before_the_events_own_decision() -> None:
    cfg = config(
        trigger(DWELL, id="dwell", target=".c"),
        trigger(EXIT, id="exit"),
    )
    trace = [ev(100, "pointerenter", "dwell"), leave(600)]
    assert run(cfg, trace, ids=True) == [(600.0, "dwell", "fire"), (600.0, "exit", "fire")]


# == the first evaluation =====================================================


@pytest.mark.parametrize(
    "when",
    [
        {"signal": "time_on_page_ms", "gte": 0},
        {"signal": "idle_ms", "lt": 100},
        {"not": EXIT},
        {"signal": "scroll_depth", "eq": 0},
    ],
)
def test_a_condition_true_at_the_first_evaluation_counts_as_a_rise(when: dict[str, Any]) -> None:
    assert run(one_trigger(when), [ev(50, "goal", name="x")]) == [(0.0, "fire")]
    assert run(one_trigger(when), [], until=0) == [(0.0, "fire")]
    engine = Engine(one_trigger(when))
    assert [d.t for d in engine.feed(parse_event(ev(0, "goal", name="x")))] == [0.0]


def test_the_first_evaluation_can_be_suppressed_by_a_context_known_at_t0() -> None:
    cfg = one_trigger({"not": EXIT}, suppress_when=["hidden"])
    # the visibility event comes at t = 0, after the first evaluation
    assert run(cfg, [ev(0, "visibility", state="hidden")]) == [(0.0, "fire")]


# == time order ===============================================================


def test_decisions_in_time_order_across_triggers() -> None:
    cfg = config(
        trigger({"signal": "time_on_page_ms", "gte": 3000}, id="late"),
        trigger({"signal": "idle_ms", "gte": 1000}, id="idle"),
        trigger(DWELL, id="dwell", target=".c"),
        trigger({"signal": "time_on_page_ms", "gte": 1500}, id="early"),
    )
    trace = [ev(100, "pointerenter", "dwell"), ev(200, "pointermove")]
    decisions = run(cfg, trace, until=10_000, ids=True)
    assert decisions == [
        (600.0, "dwell", "fire"),
        (1200.0, "idle", "fire"),
        (1500.0, "early", "fire"),
        (3000.0, "late", "fire"),
    ]


def test_same_t_decisions_in_config_order() -> None:
    cfg = config(
        trigger({"signal": "time_on_page_ms", "gte": 1000}, id="b"),
        trigger({"signal": "time_on_page_ms", "gte": 1000}, id="a"),
    )
    assert run(cfg, [], until=2000, ids=True) == [(1000.0, "b", "fire"), (1000.0, "a", "fire")]


# == next_deadline ============================================================


def test_next_deadline_values() -> None:
    engine = dwell_engine()
    assert engine.next_deadline() == 0.0  # the first evaluation is due
    assert engine.advance(0.0) == []
    assert engine.next_deadline() is None  # nothing can change without an event
    assert engine.feed(Event(100.0, "pointerenter", targets=(TID,))) == []
    assert engine.next_deadline() == 600.0
    assert [d.t for d in engine.advance(engine.next_deadline() or 0)] == [600.0]
    engine.feed(Event(700.0, "pointerleave", targets=(TID,)))
    assert engine.next_deadline() == 30_600.0  # the cool-down's end
    assert engine.advance(30_600.0) == []
    assert engine.next_deadline() is None


def test_next_deadline_for_hold_and_gate() -> None:
    engine = Engine(one_trigger(EXIT, hold_ms=250, gate=GATE))
    engine.feed(parse_event(leave(100)))
    assert engine.next_deadline() == 350.0
    assert [d.kind for d in engine.advance(350.0)] == ["gate"]
    assert engine.next_deadline() == 1350.0
    assert [d.kind for d in engine.advance(2000.0)] == ["expire"]
    assert engine.next_deadline() is None


def test_next_deadline_for_page_time() -> None:
    engine = Engine(one_trigger({"signal": "time_on_page_ms", "gte": 2500}))
    assert engine.next_deadline() == 0.0
    engine.advance(0.0)
    assert engine.next_deadline() == 2500.0
    engine.advance(2499.0)
    assert engine.next_deadline() == 2500.0


def test_advance_by_next_deadline_alone_reproduces_the_run() -> None:
    """Calling back exactly at each reported deadline, as the worker's one timer does."""
    cfg = config(
        trigger(EXIT, id="exit", hold_ms=300, gate=GATE, cooldown_ms=2000),
        trigger({"signal": "idle_ms", "gte": 700}, id="idle", cooldown_ms=0),
        trigger({"signal": "keystrokes", "gte": 2, "window_ms": 500}, id="keys", target="#k"),
    )
    trace = [leave(100), ev(200, "keydown", "keys", key="char"),
             ev(600, "keydown", "keys", key="char"), ev(5000, "click", x=1, y=1)]  # fmt: skip
    expected = run(cfg, trace, until=20_000, ids=True)
    engine = Engine(cfg)
    got = []
    for event in [*trace, ev(20_000, "goal", name="end")]:
        while (deadline := engine.next_deadline()) is not None and deadline < event["t"]:
            got += engine.advance(deadline)
        got += engine.feed(parse_event(event))
    got += engine.advance(20_000)
    assert [(d.t, d.trigger, d.kind) + ((d.reason,) if d.reason else ()) for d in got] == expected
    assert len(expected) > 3


# == advance ==================================================================


def test_advance_is_idempotent() -> None:
    engine = dwell_engine()
    engine.feed(Event(100.0, "pointerenter", targets=(TID,)))
    assert [d.t for d in engine.advance(1000.0)] == [600.0]
    assert engine.advance(1000.0) == []
    assert engine.advance(800.0) == []  # earlier than what was handled: nothing
    assert engine.advance(1000.0) == []


def test_advance_in_small_steps_equals_one_big_step() -> None:
    cfg = one_trigger(EXIT, gate=GATE)
    big = Engine(cfg)
    big.feed(parse_event(leave(100)))
    small = Engine(cfg)
    small.feed(parse_event(leave(100)))
    steps = [d for t in range(100, 3000, 37) for d in small.advance(float(t))]
    assert steps + small.advance(3000.0) == big.advance(3000.0)


def test_now() -> None:
    engine = dwell_engine()
    assert engine.now == 0.0
    engine.feed(Event(100.0, "pointerenter", targets=(TID,)))
    assert engine.now == 100.0
    engine.advance(1000.0)
    # the last deadline handled: the fire at 600 (or a no-op check just after it)
    assert 600.0 <= engine.now < 601.0


# == feed and feed_json =======================================================


def test_feed_backwards_raises_event_error() -> None:
    engine = dwell_engine()
    engine.feed(Event(100.0, "pointerenter", targets=(TID,)))
    with pytest.raises(EventError, match=r"^t: "):
        engine.feed(Event(99.0, "pointermove"))
    # the engine goes on as if the event had not come
    assert [d.t for d in engine.advance(1000.0)] == [600.0]


def test_feed_backwards_after_a_deadline_raises() -> None:
    engine = dwell_engine()
    engine.feed(Event(100.0, "pointerenter", targets=(TID,)))
    engine.advance(700.0)
    with pytest.raises(EventError):
        engine.feed(Event(599.0, "pointermove"))


def test_feed_at_the_same_t_is_fine() -> None:
    engine = dwell_engine()
    engine.feed(Event(100.0, "pointerenter", targets=(TID,)))
    engine.feed(Event(100.0, "pointermove"))


def test_feed_all() -> None:
    engine = dwell_engine()
    out = engine.feed_all(
        [Event(100.0, "pointerenter", targets=(TID,)), Event(900.0, "click", x=1, y=1)]
    )
    assert [(d.t, d.kind) for d in out] == [(600.0, "fire")]


MALFORMED: list[Any] = [
    ("not an object", "expected a JSON object"),
    ([1, 2], "expected a JSON object"),
    (None, "expected a JSON object"),
    ({"type": "click", "x": 1, "y": 1}, "t"),
    ({"t": "5", "type": "pointermove"}, "t"),
    ({"t": True, "type": "pointermove"}, "t"),
    ({"t": -1, "type": "pointermove"}, "t"),
    ({"t": math.nan, "type": "pointermove"}, "t"),
    ({"t": math.inf, "type": "pointermove"}, "t"),
    ({"t": 1}, "type"),
    ({"t": 1, "type": 3}, "type"),
    ({"t": 1, "type": "hover"}, "type"),
    ({"t": 1, "type": "click", "x": 1}, "y"),
    ({"t": 1, "type": "click", "x": "1", "y": 2}, "x"),
    ({"t": 1, "type": "leave", "y": 2}, "x"),
    ({"t": 1, "type": "scroll", "scroll_y": 0, "viewport_h": 1}, "doc_h"),
    ({"t": 1, "type": "scroll", "scroll_y": 0, "viewport_h": 1, "doc_h": 0}, "doc_h"),
    ({"t": 1, "type": "keydown"}, "key"),
    ({"t": 1, "type": "keydown", "key": "a"}, "key"),
    ({"t": 1, "type": "visibility", "state": "gone"}, "state"),
    ({"t": 1, "type": "selection", "state": "true"}, "state"),
    ({"t": 1, "type": "consent"}, "state"),
    ({"t": 1, "type": "goal"}, "name"),
    ({"t": 1, "type": "dismiss", "name": 7}, "name"),
    ({"t": 1, "type": "click", "x": 1, "y": 1, "targets": "t"}, "targets"),
    ({"t": 1, "type": "click", "x": 1, "y": 1, "targets": [1]}, "targets"),
    ({"t": 1, "type": "context", "pointer": "stylus"}, "pointer"),
    ({"t": 1, "type": "context", "viewport_w": [390]}, "viewport_w"),
    # unhashable or oversized values (valid JSON) must be dropped too, never raised
    pytest.param({"t": 1, "type": "keydown", "key": ["char"]}, "key", id="key-list"),
    pytest.param({"t": 1, "type": "keydown", "key": {"c": 1}}, "key", id="key-object"),
    pytest.param({"t": 1, "type": "context", "pointer": ["mouse"]}, "pointer", id="pointer-list"),
    pytest.param({"t": 10**400, "type": "pointermove"}, "t", id="t-huge-int"),
    pytest.param({"t": 1, "type": "click", "x": 10**400, "y": 1}, "x", id="x-huge-int"),
]


@pytest.mark.parametrize(("obj", "field"), MALFORMED)
def test_feed_json_drops_and_counts_malformed_input(obj: object, field: str) -> None:
    engine = dwell_engine()
    assert engine.feed_json(obj) == []
    assert engine.dropped == {field: 1}
    # the engine is unharmed
    engine.feed_json({"t": 100, "type": "pointerenter", "targets": [TID]})
    assert [d.t for d in engine.advance(1000.0)] == [600.0]


def test_feed_json_drops_backwards_t() -> None:
    engine = dwell_engine()
    engine.feed_json({"t": 100, "type": "pointerenter", "targets": [TID]})
    assert engine.feed_json({"t": 50, "type": "click", "x": 1, "y": 1, "targets": [TID]}) == []
    assert engine.dropped == {"t": 1}
    assert [(d.t, d.kind) for d in engine.advance(1000.0)] == [(600.0, "fire")]


def test_feed_json_takes_a_late_boundary() -> None:
    # a page may hold enters and leaves (Engine.hold_needs): they may come late
    engine = dwell_engine()
    engine.feed_json({"t": 100, "type": "pointerenter", "targets": [TID]})
    engine.feed_json({"t": 200, "type": "click", "x": 1, "y": 1})
    assert engine.feed_json({"t": 150, "type": "pointerleave", "targets": [TID]}) == []
    assert engine.dropped == {}
    assert engine.advance(1000.0) == []  # left at 150: no dwell of 500


def test_feed_json_returns_decisions_and_counts_across_calls() -> None:
    engine = dwell_engine()
    engine.feed_json({"t": 100, "type": "pointerenter", "targets": [TID], "extra": {"a": 1}})
    out = engine.feed_json({"t": 700, "type": "pointermove"})
    assert [(d.t, d.kind) for d in out] == [(600.0, "fire")]
    engine.feed_json({"t": 800})
    engine.feed_json({"t": 900})
    engine.feed_json({"t": 950, "type": "keydown"})
    assert engine.dropped == {"type": 2, "key": 1}


# == targets, dismiss, exposures ===============================================


def test_unknown_trigger_ids_in_targets_are_ignored() -> None:
    cfg = one_trigger(DWELL, target=".c")
    trace = [ev(100, "pointerenter", "nope", TID, "also-nope"), ev(200, "click", "ghost", x=1, y=1)]
    assert run(cfg, trace, until=1000) == [(600.0, "fire")]


def test_dismiss_of_an_unknown_trigger_is_ignored() -> None:
    assert run(one_trigger(EXIT), [ev(10, "dismiss", name="ghost"), leave(100)]) == [
        (100.0, "fire")
    ]


def test_exposures_recorded_once_per_session_whatever_the_decision() -> None:
    cfg = config(
        trigger(EXIT, id="exit", suppress_when=["hidden"]),
        trigger({"signal": "time_on_page_ms", "gte": 50}, id="time"),
        trigger({"signal": "scroll_depth", "gte": 0.9}, id="never"),
    )
    engine = Engine(cfg)
    trace = [ev(10, "visibility", state="hidden"), leave(100), move(200), leave(300),
             ev(350, "visibility", state="visible"), move(400), leave(500)]  # fmt: skip
    decisions = run_engine(engine, trace, until=100_000)
    assert [(d.t, d.trigger, d.kind, d.reason) for d in decisions] == [
        (50.0, "time", "fire", None),
        (100.0, "exit", "suppressed", "hidden"),
        (300.0, "exit", "suppressed", "hidden"),
        (500.0, "exit", "fire", None),
    ]
    assert [tuple(x) for x in engine.exposures] == [(50.0, "time", None), (100.0, "exit", None)]


def test_exposure_counts_a_rise_that_a_hold_then_cancels() -> None:
    engine = Engine(one_trigger(EXIT, hold_ms=500))
    run_engine(engine, [leave(100), move(200)], until=5000)
    assert [tuple(x) for x in engine.exposures] == [(100.0, TID, None)]
