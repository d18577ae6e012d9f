"""Suppression contexts (``suppress_when``): each of the five suppresses with its
own name as the reason, and contexts are checked at the act moment only."""

from __future__ import annotations

from typing import Any

import pytest
from enginekit import TID, ev, one_trigger, run

from pytrigger.contexts import FORM_FILLING_MS, PageContexts
from pytrigger.events import parse_event
from pytrigger.triggers import CONTEXTS

EXIT = {"signal": "exit_intent", "eq": 1}
GATE = {"confirm": ["click"], "within_ms": 1000}


def leave(t: float) -> dict[str, Any]:
    return ev(t, "leave", x=100, y=0)


def move(t: float) -> dict[str, Any]:
    return ev(t, "pointermove", x=100, y=300)


def suppressing(context: str, **fields: Any) -> Any:
    return one_trigger(EXIT, suppress_when=[context], **fields)


def test_the_five_contexts() -> None:
    assert set(CONTEXTS) == {"dragging", "selecting_text", "form_filling", "composing", "hidden"}
    assert FORM_FILLING_MS == 5000


# (context, events before the leave at 100 that make it hold, ... that end it again)
CASES: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]] = [
    ("dragging", [ev(0, "dragstart")], [ev(50, "dragend")]),
    ("dragging", [ev(0, "pointerdown"), ev(10, "pointermove")], [ev(50, "pointerup")]),
    ("selecting_text", [ev(0, "selection", state=True)], [ev(50, "selection", state=False)]),
    ("composing", [ev(0, "compositionstart")], [ev(50, "compositionend")]),
    ("hidden", [ev(0, "visibility", state="hidden")], [ev(50, "visibility", state="visible")]),
    ("form_filling", [ev(0, "focus", "other"), ev(10, "input", "other")], [ev(50, "blur")]),
]


@pytest.mark.parametrize(("context", "start", "end"), CASES)
def test_each_context_suppresses_with_its_name(
    context: str, start: list[dict[str, Any]], end: list[dict[str, Any]]
) -> None:
    cfg = suppressing(context, target="#q")
    assert run(cfg, [*start, leave(100)]) == [(100.0, "suppressed", context)]
    assert run(cfg, [*start, *end, leave(100)]) == [(100.0, "fire")]


@pytest.mark.parametrize(("context", "start", "end"), CASES)
def test_a_context_not_listed_does_not_suppress(
    context: str, start: list[dict[str, Any]], end: list[dict[str, Any]]
) -> None:
    others = [c for c in CONTEXTS if c != context]
    cfg = one_trigger(EXIT, target="#q", suppress_when=others)
    assert run(cfg, [*start, leave(100)]) == [(100.0, "fire")]


@pytest.mark.parametrize(
    "before",
    [
        [ev(0, "pointerdown")],  # held down, not moving
        [ev(0, "pointermove"), ev(10, "pointerdown")],  # moved before it was pressed
        [ev(0, "pointerdown"), ev(10, "pointermove"), ev(20, "pointerup")],
        [ev(0, "pointerdown"), ev(10, "pointermove"), ev(20, "dragend")],
        [ev(0, "dragstart"), ev(10, "dragend")],
    ],
)
def test_not_dragging(before: list[dict[str, Any]]) -> None:
    assert run(suppressing("dragging"), [*before, leave(100)]) == [(100.0, "fire")]


@pytest.mark.parametrize(
    ("leave_at", "expected"),
    [
        (5009.999, [(5009.999, "suppressed", "form_filling")]),
        (5010.0, [(5010.0, "fire")]),  # input at 10: (t - 5000, t] no longer holds it
    ],
)
def test_form_filling_five_second_edge(leave_at: float, expected: list[Any]) -> None:
    cfg = suppressing("form_filling", target="#q")
    trace = [ev(0, "focus", "other"), ev(10, "input", "other"), leave(leave_at)]
    assert run(cfg, trace) == expected


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        # another field (one no trigger targets) has focus and had input
        ([ev(0, "focus"), ev(10, "input")], [(100.0, "suppressed", "form_filling")]),
        # the trigger's own target is the focused field: not form filling
        ([ev(0, "focus", TID), ev(10, "input", TID)], [(100.0, "fire")]),
        # focus but no input
        ([ev(0, "focus", "other")], [(100.0, "fire")]),
        # input before this field got focus does not count
        ([ev(0, "focus", "a"), ev(10, "input", "a"), ev(20, "focus", "b")], [(100.0, "fire")]),
        # the field lost focus
        ([ev(0, "focus", "a"), ev(10, "input", "a"), ev(20, "blur", "a")], [(100.0, "fire")]),
        # keydowns are not input events
        ([ev(0, "focus", "a"), ev(10, "keydown", "a", key="char")], [(100.0, "fire")]),
    ],
)
def test_form_filling_with_a_target(before: list[dict[str, Any]], expected: list[Any]) -> None:
    assert run(suppressing("form_filling", target="#q"), [*before, leave(100)]) == expected


@pytest.mark.parametrize("focused", [(), ("other",), (TID,)])
def test_form_filling_without_a_target_is_any_focused_field_with_input(
    focused: tuple[str, ...],
) -> None:
    cfg = suppressing("form_filling")
    trace = [ev(0, "focus", *focused), ev(10, "input", *focused), leave(100)]
    assert run(cfg, trace) == [(100.0, "suppressed", "form_filling")]
    trace = [ev(0, "focus", *focused), leave(100)]
    assert run(cfg, trace) == [(100.0, "fire")]


# == checked at the act moment only ===========================================


def test_context_at_the_rise_but_not_at_the_hold_end_does_not_suppress() -> None:
    cfg = suppressing("hidden", hold_ms=1000)
    trace = [
        ev(0, "visibility", state="hidden"),
        leave(100),
        ev(500, "visibility", state="visible"),
    ]
    assert run(cfg, trace, until=5000) == [(1100.0, "fire")]


def test_context_at_the_hold_end_suppresses() -> None:
    cfg = suppressing("hidden", hold_ms=1000)
    trace = [leave(100), ev(500, "visibility", state="hidden")]
    assert run(cfg, trace, until=5000) == [(1100.0, "suppressed", "hidden")]


def test_context_after_the_act_changes_nothing() -> None:
    cfg = suppressing("hidden")
    trace = [leave(100), ev(500, "visibility", state="hidden")]
    assert run(cfg, trace, until=5000) == [(100.0, "fire")]


def test_context_is_checked_at_the_gate_opening_not_at_the_confirmation() -> None:
    cfg = suppressing("hidden", gate=GATE)
    trace = [leave(100), ev(200, "visibility", state="hidden"), ev(300, "click", x=1, y=1)]
    assert run(cfg, trace) == [(100.0, "gate"), (300.0, "fire")]
    trace = [ev(0, "visibility", state="hidden"), leave(100), ev(300, "click", x=1, y=1)]
    assert run(cfg, trace, until=5000) == [(100.0, "suppressed", "hidden")]


def test_a_suppressed_trigger_waits_for_a_fall_and_a_rise() -> None:
    cfg = suppressing("hidden")
    trace = [
        ev(0, "visibility", state="hidden"),
        leave(100),
        ev(200, "visibility", state="visible"),  # the context ends: the condition still holds
        ev(300, "click", x=1, y=1),
        move(400),
        leave(500),
    ]
    assert run(cfg, trace, until=5000) == [(100.0, "suppressed", "hidden"), (500.0, "fire")]


def test_context_suppression_starts_no_cooldown() -> None:
    cfg = suppressing("hidden")
    trace = [ev(0, "visibility", state="hidden"), leave(100),
             ev(200, "visibility", state="visible"), move(300), leave(400)]  # fmt: skip
    assert run(cfg, trace) == [(100.0, "suppressed", "hidden"), (400.0, "fire")]


# == order: max_per_session, cooldown, then the contexts in CONTEXTS order ======
# (docs/engine.md: dragging, selecting_text, form_filling, composing, hidden,
# whatever order the config lists them in)

BOTH = [ev(0, "visibility", state="hidden"), ev(10, "dragstart"), leave(100)]


@pytest.mark.parametrize("order", [["hidden", "dragging"], ["dragging", "hidden"]])
def test_contexts_are_checked_in_the_documented_order(order: list[str]) -> None:
    cfg = one_trigger(EXIT, suppress_when=order)
    assert run(cfg, BOTH) == [(100.0, "suppressed", "dragging")]


def test_all_five_active_the_first_documented_one_is_the_reason() -> None:
    everything = [
        ev(0, "visibility", state="hidden"), ev(1, "compositionstart"), ev(2, "focus", "f"),
        ev(3, "input", "f"), ev(4, "selection", state=True), ev(5, "dragstart"),
    ]  # fmt: skip
    for i, first in enumerate(CONTEXTS):
        cfg = one_trigger(EXIT, target="#q", suppress_when=list(reversed(CONTEXTS[i:])))
        assert run(cfg, [*everything, leave(100)]) == [(100.0, "suppressed", first)]


# == PageContexts on its own ==================================================


def contexts_after(*trace: dict[str, Any]) -> PageContexts:
    contexts = PageContexts()
    for event in trace:
        contexts.apply(parse_event(event))
    return contexts


@pytest.mark.parametrize(
    ("t", "active"), [(10.0, True), (5009.999, True), (5010.0, False), (9000.0, False)]
)
def test_page_contexts_form_filling_window(t: float, active: bool) -> None:
    contexts = contexts_after(ev(0, "focus", "a"), ev(10, "input", "a"))
    assert contexts.active("form_filling", "q", True, t) is active
    assert contexts.active("form_filling", "a", True, t) is False  # its own target
    assert contexts.active("form_filling", "a", False, t) is active  # no target: any field


def test_page_contexts_unknown_name() -> None:
    with pytest.raises(ValueError):
        PageContexts().active("napping", TID, False, 0.0)
