"""pytrigger.lifecycle: a trigger's life as a transition table, and through the
Engine: hold (debounce), gates, cool-downs with backoff, the session cap,
one ``suppressed`` per rise, edge-triggered decisions.

Most traces drive ``exit_intent`` (a ``leave`` at y ≤ 10 rises it, a
``pointermove`` drops it), so every rise and fall is an explicit event."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from enginekit import TID, ev, one_trigger, run, run_engine

from pytrigger.conditions import Leaf
from pytrigger.decisions import Decision
from pytrigger.engine import Engine
from pytrigger.lifecycle import TRANSITIONS, Input, LifecycleBug, Phase, TriggerLife
from pytrigger.triggers import Gate, Trigger

EXIT = {"signal": "exit_intent", "eq": 1}
GATE = {"confirm": ["click"], "within_ms": 1000}


def leave(t: float) -> dict[str, Any]:
    return ev(t, "leave", x=100, y=0)


def move(t: float) -> dict[str, Any]:
    return ev(t, "pointermove", x=100, y=300)


def rerise(t: float) -> list[dict[str, Any]]:
    """The condition falls and rises again at ``t``."""
    return [move(t), leave(t)]


def click(t: float, *targets: str) -> dict[str, Any]:
    return ev(t, "click", *targets, x=1, y=1)


def dismiss(t: float, name: str = TID) -> dict[str, Any]:
    return ev(t, "dismiss", name=name)


# == the table ================================================================

EXPECTED_TABLE = {
    (Phase.IDLE, Input.RISE): Phase.HOLDING,
    (Phase.HOLDING, Input.FALL): Phase.IDLE,
    (Phase.HOLDING, Input.FIRE): Phase.LATCHED,
    (Phase.HOLDING, Input.OPEN_GATE): Phase.GATED,
    (Phase.HOLDING, Input.SUPPRESS): Phase.LATCHED,
    (Phase.GATED, Input.RISE): Phase.GATED,
    (Phase.GATED, Input.FALL): Phase.GATED,
    (Phase.GATED, Input.CONFIRM): Phase.LATCHED,
    (Phase.GATED, Input.EXPIRE): Phase.LATCHED,
    (Phase.LATCHED, Input.FALL): Phase.IDLE,
}


class FakeNode:
    def __init__(self) -> None:
        self.value: bool | None = False

    def eval(self, t: float) -> bool | None:
        return self.value

    def deadline(self, t: float) -> float | None:
        return None


def make_life(
    gate: Gate | None = None, blocked: str | None = None, **fields: Any
) -> tuple[TriggerLife, FakeNode]:
    node = FakeNode()
    trigger = Trigger(id=TID, when=Leaf("exit_intent", "eq", 1.0), gate=gate, **fields)
    return TriggerLife(0, trigger, node, lambda trig, t: blocked), node


def test_the_table_is_exactly_the_listed_transitions() -> None:
    assert TRANSITIONS == EXPECTED_TABLE


@pytest.mark.parametrize(("phase", "what"), list(itertools.product(Phase, Input)))
def test_every_transition(phase: Phase, what: Input) -> None:
    life, _ = make_life()
    life.phase = phase
    if (phase, what) in EXPECTED_TABLE:
        life._to(what)
        assert life.phase is EXPECTED_TABLE[phase, what]
    else:
        with pytest.raises(LifecycleBug):
            life._to(what)


def test_confirm_without_an_open_gate_is_a_bug() -> None:
    life, _ = make_life()
    with pytest.raises(LifecycleBug):
        life.confirm(0.0, [])


def kinds(out: list[Decision]) -> list[tuple[float, str]]:
    return [(d.t, d.kind) for d in out]


def test_phases_along_a_gated_life() -> None:
    life, node = make_life(gate=Gate(frozenset({"click"}), 1000.0), hold_ms=100.0)
    out: list[Decision] = []
    life.step(0.0, out)
    assert life.phase is Phase.IDLE
    node.value = True
    assert life.step(10.0, out) is True  # the first rise: an exposure
    assert life.phase is Phase.HOLDING
    assert life.deadline(10.0) == 110.0
    life.step(110.0, out)
    assert life.phase is Phase.GATED
    assert life.deadline(110.0) == 1110.0
    node.value = False
    life.step(200.0, out)
    assert life.phase is Phase.GATED
    life.confirm(300.0, out)
    assert life.phase is Phase.IDLE  # confirmed, and the condition had already fallen
    assert kinds(out) == [(110.0, "gate"), (300.0, "fire")]
    assert life.deadline(300.0) == 30_300.0  # the cool-down's end
    node.value = True
    assert life.step(400.0, out) is False  # not the first rise any more
    assert life.phase is Phase.HOLDING
    life.step(500.0, out)  # the hold ends inside the cool-down
    assert life.phase is Phase.LATCHED
    assert out[-1].kind == "suppressed" and out[-1].reason == "cooldown"


def test_absent_condition_counts_as_false() -> None:
    life, node = make_life()
    node.value = None
    out: list[Decision] = []
    life.step(0.0, out)
    assert life.phase is Phase.IDLE and out == []


def test_context_block_suppresses_with_its_name() -> None:
    life, node = make_life(blocked="hidden")
    node.value = True
    out: list[Decision] = []
    life.step(0.0, out)
    assert [(d.kind, d.reason) for d in out] == [("suppressed", "hidden")]
    assert life.phase is Phase.LATCHED


# == hold =====================================================================


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        ([leave(100)], [(600.0, "fire")]),
        ([leave(100), move(400)], []),  # a dip cancels the hold
        ([leave(100), move(400), leave(450)], [(950.0, "fire")]),  # and restarts it
        ([leave(100), move(600)], [(600.0, "fire")]),  # hold end first, then the event
        ([leave(100), move(599.999)], []),
        ([leave(100), click(300), leave(350)], [(600.0, "fire")]),  # still true: no restart
    ],
)
def test_hold_ms_debounce(trace: list[dict[str, Any]], expected: list[tuple[float, str]]) -> None:
    cfg = one_trigger(EXIT, hold_ms=500)
    assert run(cfg, trace, until=10_000) == expected


def test_hold_zero_acts_at_the_rise() -> None:
    assert run(one_trigger(EXIT), [leave(100)]) == [(100.0, "fire")]


def test_hold_then_gate() -> None:
    cfg = one_trigger(EXIT, hold_ms=500, gate=GATE)
    assert run(cfg, [leave(100)], until=10_000) == [(600.0, "gate"), (1600.0, "expire")]
    assert run(cfg, [leave(100), click(700)]) == [(600.0, "gate"), (700.0, "fire")]


# == gates ====================================================================


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        ([leave(100), click(500)], [(100.0, "gate"), (500.0, "fire")]),
        ([leave(100), click(1099.999)], [(100.0, "gate"), (1099.999, "fire")]),
        # the window closes at exactly gate_t + within_ms, before an event then
        ([leave(100), click(1100)], [(100.0, "gate"), (1100.0, "expire")]),
        ([leave(100)], [(100.0, "gate"), (1100.0, "expire")]),
        # a confirming event counts wherever it happens on the page
        ([leave(100), click(500, "other")], [(100.0, "gate"), (500.0, "fire")]),
        ([leave(100), click(500, TID)], [(100.0, "gate"), (500.0, "fire")]),
        # other event types do not confirm
        ([leave(100), ev(500, "keydown", key="char"), ev(600, "scroll", scroll_y=5,
          viewport_h=5, doc_h=50)], [(100.0, "gate"), (1100.0, "expire")]),
        # a confirmed gate fires even if the condition no longer holds
        ([leave(100), move(200), click(300)], [(100.0, "gate"), (300.0, "fire")]),
        # the event that opens the gate does not confirm it; the next one does
        ([leave(100), click(100)], [(100.0, "gate"), (100.0, "fire")]),
        # only one act per gate: a second click does nothing
        ([leave(100), click(300), click(400)], [(100.0, "gate"), (300.0, "fire")]),
    ],
)  # fmt: skip
def test_gate_paths(trace: list[dict[str, Any]], expected: list[tuple[float, str]]) -> None:
    assert run(one_trigger(EXIT, gate=GATE), trace, until=10_000) == expected


def test_expire_decision_is_at_the_deadline_not_the_next_event() -> None:
    cfg = one_trigger(EXIT, gate=GATE)
    assert run(cfg, [leave(100), ev(5000, "keydown", key="char")]) == [
        (100.0, "gate"),
        (1100.0, "expire"),
    ]


@pytest.mark.parametrize("confirm", ["pointermove", "scroll", "keydown", "input", "focus"])
def test_gate_confirm_types(confirm: str) -> None:
    fields = {"scroll": {"scroll_y": 0, "viewport_h": 1, "doc_h": 2}, "keydown": {"key": "char"}}
    cfg = one_trigger(EXIT, gate={"confirm": [confirm], "within_ms": 1000})
    trace = [leave(100), ev(300, confirm, **fields.get(confirm, {}))]
    assert run(cfg, trace, until=5000) == [(100.0, "gate"), (300.0, "fire")]


def test_rises_during_an_open_gate_are_ignored() -> None:
    cfg = one_trigger(EXIT, gate=GATE)
    trace = [leave(100), *rerise(200), *rerise(300), click(400)]
    assert run(cfg, trace, until=50_000) == [(100.0, "gate"), (400.0, "fire")]


def test_after_an_expire_a_new_act_needs_a_fresh_rise() -> None:
    cfg = one_trigger(EXIT, gate=GATE)
    # the condition still holds when the gate expires: nothing until it falls and rises
    trace = [leave(100), click(1200), *rerise(1300), click(1400)]
    assert run(cfg, trace) == [
        (100.0, "gate"), (1100.0, "expire"), (1300.0, "gate"), (1400.0, "fire"),
    ]  # fmt: skip
    # a rise during the gate with a fall before it expires: free at once
    trace = [leave(100), move(200), leave(1500)]
    assert run(cfg, trace, until=3000) == [
        (100.0, "gate"), (1100.0, "expire"), (1500.0, "gate"), (2500.0, "expire"),
    ]  # fmt: skip


def test_gate_and_expire_do_not_start_a_cooldown() -> None:
    cfg = one_trigger(EXIT, gate=GATE)
    trace = [leave(100), *rerise(1200), *rerise(2300), click(2400)]
    assert run(cfg, trace) == [
        (100.0, "gate"), (1100.0, "expire"),
        (1200.0, "gate"), (2200.0, "expire"),
        (2300.0, "gate"), (2400.0, "fire"),
    ]  # fmt: skip


def test_a_confirmed_fire_starts_the_cooldown() -> None:
    cfg = one_trigger(EXIT, gate=GATE, cooldown_ms=1000)
    trace = [leave(100), click(500), *rerise(1499), *rerise(1500)]
    assert run(cfg, trace) == [
        (100.0, "gate"), (500.0, "fire"),
        (1499.0, "suppressed", "cooldown"),  # checked at the gate's opening
        (1500.0, "gate"),
    ]  # fmt: skip


def test_dismiss_closes_an_open_gate_as_expire_and_starts_a_cooldown() -> None:
    cfg = one_trigger(EXIT, gate=GATE)
    trace = [leave(100), dismiss(300), click(400), *rerise(500)]
    assert run(cfg, trace, until=5000) == [
        (100.0, "gate"), (300.0, "expire"), (500.0, "suppressed", "cooldown"),
    ]  # fmt: skip


# == cool-down and backoff =====================================================


def waits(cooldown: float, backoff: float, cap: float, n: int) -> list[float]:
    return [min(cooldown * backoff**k, cap) for k in range(n)]


@pytest.mark.parametrize(
    ("cooldown", "backoff", "cap", "expected_waits"),
    [
        (30_000, 2.0, 3_600_000, [30_000, 60_000, 120_000, 240_000, 480_000]),
        (30_000, 2.0, 100_000, [30_000, 60_000, 100_000, 100_000, 100_000]),
        (1000, 1.0, 3_600_000, [1000, 1000, 1000, 1000, 1000]),
        (1000, 3.0, 10_000, [1000, 3000, 9000, 10_000, 10_000]),
        (1000, 1.5, 3_600_000, [1000, 1500, 2250, 3375, 5062.5]),
    ],
)
def test_backoff_sequence(
    cooldown: float, backoff: float, cap: float, expected_waits: list[float]
) -> None:
    assert waits(cooldown, backoff, cap, 5) == expected_waits
    cfg = one_trigger(
        EXIT, cooldown_ms=cooldown, backoff=backoff, max_cooldown_ms=cap, max_per_session=10
    )
    fire_t = 1000.0
    trace, expected = [leave(fire_t)], [(fire_t, "fire")]
    for wait in expected_waits:
        trace += rerise(fire_t + wait - 1)  # one ms early: still cooling down
        trace += rerise(fire_t + wait)  # exactly at the end: free
        expected += [(fire_t + wait - 1, "suppressed", "cooldown"), (fire_t + wait, "fire")]
        fire_t += wait
    assert run(cfg, trace) == expected


def test_dismiss_moves_the_backoff_to_the_next_level() -> None:
    cfg = one_trigger(EXIT, max_per_session=10)
    trace = [leave(1000), dismiss(5000)]  # fire: 30 s; the dismiss: 60 s from 5000
    trace += [*rerise(31_000), *rerise(64_999), *rerise(65_000)]
    trace += [*rerise(184_999), *rerise(185_000)]  # then 120 s from the fire at 65000
    assert run(cfg, trace) == [
        (1000.0, "fire"),
        (31_000.0, "suppressed", "cooldown"),
        (64_999.0, "suppressed", "cooldown"),
        (65_000.0, "fire"),
        (184_999.0, "suppressed", "cooldown"),
        (185_000.0, "fire"),
    ]


def test_dismiss_before_any_fire_starts_the_first_level() -> None:
    cfg = one_trigger(EXIT, max_per_session=10)
    trace = [dismiss(0), leave(100), *rerise(30_000), *rerise(89_999), *rerise(90_000)]
    assert run(cfg, trace) == [
        (100.0, "suppressed", "cooldown"),
        (30_000.0, "fire"),  # the dismiss's 30 s
        (89_999.0, "suppressed", "cooldown"),  # then 60 s: level 2
        (90_000.0, "fire"),
    ]


def test_dismiss_while_holding_makes_the_hold_end_suppressed() -> None:
    cfg = one_trigger(EXIT, hold_ms=500)
    assert run(cfg, [leave(100), dismiss(300)], until=5000) == [(600.0, "suppressed", "cooldown")]


def test_dismiss_of_another_trigger_changes_nothing() -> None:
    cfg = one_trigger(EXIT)
    assert run(cfg, [dismiss(0, "other"), dismiss(10, "nope"), leave(100)]) == [(100.0, "fire")]


def test_dismiss_does_not_count_toward_max_per_session() -> None:
    cfg = one_trigger(EXIT, cooldown_ms=0, max_per_session=2)
    trace = [leave(100), dismiss(150), dismiss(160), *rerise(200), *rerise(300), *rerise(400)]
    assert run(cfg, trace) == [
        (100.0, "fire"),
        (200.0, "fire"),
        (300.0, "suppressed", "max_per_session"),
        (400.0, "suppressed", "max_per_session"),  # one per rise
    ]


def test_max_per_session_is_checked_before_cooldown() -> None:
    cfg = one_trigger(EXIT, max_per_session=1)
    trace = [leave(100), *rerise(200), *rerise(1_000_000)]
    assert run(cfg, trace) == [
        (100.0, "fire"),
        (200.0, "suppressed", "max_per_session"),
        (1_000_000.0, "suppressed", "max_per_session"),
    ]


def test_default_max_per_session_is_3() -> None:
    cfg = one_trigger(EXIT, cooldown_ms=0)
    trace = [leave(0)] + [e for t in (10, 20, 30, 40) for e in rerise(t)]
    assert [d[1:] for d in run(cfg, trace)] == [
        ("fire",), ("fire",), ("fire",),
        ("suppressed", "max_per_session"), ("suppressed", "max_per_session"),
    ]  # fmt: skip


def test_max_per_session_with_gates_counts_fires_only() -> None:
    cfg = one_trigger(EXIT, gate=GATE, cooldown_ms=0, max_per_session=1)
    trace = [leave(100), *rerise(2000), click(2500), *rerise(3000)]
    assert run(cfg, trace, until=10_000) == [
        (100.0, "gate"), (1100.0, "expire"),  # an expired gate is no fire
        (2000.0, "gate"), (2500.0, "fire"),
        (3000.0, "suppressed", "max_per_session"),
    ]  # fmt: skip


def test_cooldown_is_checked_before_contexts() -> None:
    cfg = one_trigger(EXIT, suppress_when=["hidden"], max_per_session=1)
    trace = [leave(100), ev(150, "visibility", state="hidden"), *rerise(200)]
    assert run(cfg, trace) == [(100.0, "fire"), (200.0, "suppressed", "max_per_session")]
    cfg = one_trigger(EXIT, suppress_when=["hidden"])
    assert run(cfg, trace) == [(100.0, "fire"), (200.0, "suppressed", "cooldown")]


def test_cooldown_checked_at_the_act_moment_after_the_hold() -> None:
    cfg = one_trigger(EXIT, hold_ms=500, cooldown_ms=1000)
    # fire at 600, cooling down until 1600
    early = [leave(100), move(700), leave(1000)]  # hold ends at 1500: still cooling
    late = [leave(100), move(700), leave(1100)]  # hold ends at 1600: free
    assert run(one_trigger(EXIT, hold_ms=500, cooldown_ms=1000), early, until=5000) == [
        (600.0, "fire"), (1500.0, "suppressed", "cooldown"),
    ]  # fmt: skip
    assert run(cfg, late, until=5000) == [(600.0, "fire"), (1600.0, "fire")]


# == edges ====================================================================


def test_one_suppressed_per_rise_and_nothing_while_it_stays_true() -> None:
    cfg = one_trigger(EXIT)
    trace = [leave(100), *rerise(200), leave(300), click(400), leave(500)]
    assert run(cfg, trace, until=100_000) == [
        (100.0, "fire"), (200.0, "suppressed", "cooldown"),
    ]  # fmt: skip


def test_edge_triggered_stays_true_means_nothing_more() -> None:
    cfg = one_trigger({"signal": "time_on_page_ms", "gte": 100}, cooldown_ms=0)
    assert run(cfg, [ev(t, "pointermove") for t in range(0, 5000, 250)], until=100_000) == [
        (100.0, "fire")
    ]


def test_it_may_act_again_after_the_condition_was_false() -> None:
    cfg = one_trigger(EXIT, cooldown_ms=0)
    trace = [leave(100), move(200), leave(300)]
    assert run(cfg, trace) == [(100.0, "fire"), (300.0, "fire")]


def test_decisions_carry_the_action_on_fire_and_the_gate_action_on_gate() -> None:
    cfg = one_trigger(
        EXIT,
        gate={**GATE, "action": {"class": {"add": "hint", "on": "#x"}}},
        action={"show": "#modal"},
    )
    out = run_engine(Engine(cfg), [leave(100), click(200), dismiss(300)], until=5000)
    assert [(d.kind, d.reason) for d in out] == [("gate", None), ("fire", None)]
    gate, fire = out
    assert gate.action is not None and getattr(gate.action, "add", None) == "hint"
    assert fire.action is not None and getattr(fire.action, "selector", None) == "#modal"
    assert gate.variant is None and gate.segment is None
