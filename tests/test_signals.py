"""Every signal of DESIGN.md §4 against hand-computed values at chosen instants:
first the readers on their own, then through the Engine with a one-leaf
trigger, where the decision times prove the deadlines (a time-driven signal
decides exactly at its crossing, not at the next event)."""

from __future__ import annotations

import doctest
import math
import statistics

import pytest
from enginekit import TID, ev, one_trigger, run
from hypothesis import given
from hypothesis import strategies as st

from pytrigger.signals import base
from pytrigger.signals.catalog import SIGNALS
from pytrigger.signals.clicks import RageClicks, RageState
from pytrigger.signals.keys import (
    FocusMs,
    HesitationMs,
    KeyState,
    KeystrokeRate,
    Keystrokes,
    Pauses,
)
from pytrigger.signals.page import (
    NON_INPUT_TYPES,
    DeviceState,
    IdleMs,
    IdleState,
    Pointer,
    TimeOnPage,
    ViewportWidth,
)
from pytrigger.signals.pointer import DwellMs, DwellState, ExitIntent, ExitState
from pytrigger.signals.scroll import ScrollDepth, ScrollState, ScrollVelocity, ScrollVelocityRatio
from pytrigger.triggers import EVENT_TYPES

INF = math.inf
TARGET = {"target": "#t"}
NO_COOLDOWN = {"cooldown_ms": 0, "max_per_session": 100}


def after(x: float) -> float:
    """The next float after ``x``: where a ``gt``/``lte`` comparison flips."""
    return math.nextafter(x, INF)


def test_base_doctests() -> None:
    assert doctest.testmod(base).failed == 0


def test_catalog_lists_every_signal_of_the_contract() -> None:
    assert set(SIGNALS) == {
        "dwell_ms", "focus_ms", "hesitation_ms", "pauses", "keystrokes", "keystroke_rate",
        "rage_clicks", "scroll_velocity", "scroll_velocity_ratio", "scroll_depth", "idle_ms",
        "time_on_page_ms", "exit_intent", "pointer", "viewport_w",
    }  # fmt: skip
    target_level = {name for name, spec in SIGNALS.items() if spec.level == "target"}
    assert target_level == {
        "dwell_ms", "focus_ms", "hesitation_ms", "pauses", "keystrokes", "keystroke_rate",
        "rage_clicks",
    }  # fmt: skip
    assert SIGNALS["pauses"].params["pause_ms"] == 2500
    assert SIGNALS["keystrokes"].params["window_ms"] == 2000
    assert SIGNALS["keystroke_rate"].params["window_ms"] == 2000
    assert SIGNALS["scroll_velocity"].params["window_ms"] == 300
    assert SIGNALS["scroll_velocity_ratio"].params["window_ms"] == 300


# == readers ==================================================================


def test_dwell_reader() -> None:
    state = DwellState()
    dwell = DwellMs(state)
    assert dwell.value(50.0) == 0.0
    assert dwell.deadline(50.0, 500.0) is None
    state.enter(100.0)
    state.enter(300.0)  # already inside: the first enter counts
    assert dwell.value(100.0) == 0.0
    assert dwell.value(350.0) == 250.0
    assert dwell.deadline(350.0, 500.0) == 600.0
    assert dwell.deadline(600.0, 500.0) == after(600.0)  # for gt / lte
    assert dwell.deadline(after(600.0), 500.0) is None
    state.leave()
    assert dwell.value(700.0) == 0.0
    assert dwell.deadline(700.0, 500.0) is None


def focused_keys(pause_lengths: set[float], windows: set[float]) -> KeyState:
    """Focus at 1000; keydowns at 1500, 4500, 4600; an input at 8000."""
    keys = KeyState(pause_lengths, windows)
    keys.focus(1000.0)
    for t in (1500.0, 4500.0, 4600.0):
        keys.keydown(t)
    keys.activity(8000.0)
    return keys


def test_focus_and_hesitation_readers() -> None:
    keys = KeyState(set(), set())
    focus, hesitation = FocusMs(keys), HesitationMs(keys)
    assert focus.value(10.0) == hesitation.value(10.0) == 0.0
    keys.focus(1000.0)
    assert focus.value(1200.0) == 200.0
    assert hesitation.value(1200.0) == 200.0  # since focus, no key yet
    assert hesitation.deadline(1200.0, 2000.0) == 3000.0
    keys.keydown(1500.0)
    assert focus.value(2000.0) == 1000.0
    assert hesitation.value(2000.0) == 500.0  # since the keydown
    assert hesitation.deadline(2000.0, 2000.0) == 3500.0
    keys.activity(2500.0)  # an input counts as activity too
    assert hesitation.value(2600.0) == 100.0
    keys.blur()
    assert focus.value(3000.0) == hesitation.value(3000.0) == 0.0
    assert focus.deadline(3000.0, 10.0) is None
    assert hesitation.deadline(3000.0, 10.0) is None


def test_activity_outside_a_focus_session_is_ignored() -> None:
    keys = KeyState({1000.0}, {2000.0})
    keys.keydown(100.0)  # not focused: counts as a keystroke, not as activity
    assert Keystrokes(keys, 2000.0).value(100.0) == 1.0
    assert HesitationMs(keys).value(200.0) == 0.0
    keys.focus(5000.0)
    assert HesitationMs(keys).value(5600.0) == 600.0


@pytest.mark.parametrize(
    ("pause_ms", "t", "expected"),
    [
        # gaps: focus→key 500, 1500→4500 = 3000, 4500→4600 = 100, 4600→8000 = 3400
        (2500.0, 1400.0, 0.0),
        (2500.0, 4499.0, 1.0),  # the running gap 1500→now reached 2500 at 4000
        (2500.0, 4500.0, 1.0),  # now completed
        (2500.0, 8000.0, 2.0),
        (2500.0, 10_499.0, 2.0),
        (2500.0, 10_500.0, 3.0),  # last key → now reaches 2500 exactly
        (1000.0, 1400.0, 0.0),
        (1000.0, 2500.0, 1.0),
        (1000.0, 8000.0, 2.0),
        (1000.0, 8999.0, 2.0),
        (1000.0, 9000.0, 3.0),
    ],
)
def test_pauses_reader(pause_ms: float, t: float, expected: float) -> None:
    keys = KeyState({2500.0, 1000.0}, set())
    keys.focus(1000.0)
    for k in (1500.0, 4500.0, 4600.0, 8000.0):
        if k <= t:
            keys.keydown(k)
    assert Pauses(keys, pause_ms).value(t) == expected


def test_pauses_deadline_and_reset_on_focus() -> None:
    keys = focused_keys({2500.0}, set())
    pauses = Pauses(keys, 2500.0)
    assert pauses.deadline(8000.0, 3.0) == 10_500.0
    assert pauses.deadline(10_500.0, 3.0) is None
    keys.focus(20_000.0)  # a new focus session starts from zero
    assert pauses.value(20_000.0) == 0.0
    keys.blur()
    assert pauses.value(30_000.0) == 0.0
    assert pauses.deadline(30_000.0, 1.0) is None


@pytest.mark.parametrize(
    ("window", "t", "count"),
    [
        (2000.0, 4600.0, 2.0),  # (2600, 4600]: 4500, 4600; the input at 8000 is no keydown
        (2000.0, 3499.0, 1.0),  # (1499, 3499]: 1500
        (2000.0, 3500.0, 0.0),  # 1500 leaves at exactly 3500
        (2000.0, 6499.0, 2.0),
        (2000.0, 6500.0, 1.0),
        (2000.0, 6600.0, 0.0),
        (500.0, 4600.0, 2.0),
        (500.0, 5000.0, 1.0),  # (4500, 5000]: 4600
        (500.0, 5100.0, 0.0),
    ],
)
def test_keystrokes_and_rate_readers(window: float, t: float, count: float) -> None:
    keys = KeyState(set(), {2000.0, 500.0})
    keys.focus(1000.0)
    for k in (1500.0, 4500.0, 4600.0):
        if k <= t:
            keys.keydown(k)
    assert Keystrokes(keys, window).value(t) == count
    assert KeystrokeRate(keys, window).value(t) == count / (window / 1000.0)


def test_keystrokes_deadline_is_the_next_window_expiry() -> None:
    keys = focused_keys(set(), {2000.0})
    strokes = Keystrokes(keys, 2000.0)
    assert strokes.deadline(8000.0, 1.0) is None  # window already empty
    keys = KeyState(set(), {2000.0})
    keys.keydown(4500.0)
    keys.keydown(4600.0)
    strokes = Keystrokes(keys, 2000.0)
    assert strokes.deadline(4600.0, 1.0) == 6500.0
    assert strokes.deadline(6500.0, 1.0) == 6600.0
    assert strokes.deadline(6600.0, 1.0) is None


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        ((999.0, 110.0, 119.0), 2.0),  # 999 ms later, 10 + 19 = 29 px: extends
        ((1000.0, 110.0, 119.0), 1.0),  # exactly 1000 ms later: restarts
        ((999.0, 110.0, 120.0), 1.0),  # exactly 30 px (Manhattan): restarts
        ((999.0, 80.0, 91.0), 2.0),  # -20, -9: 29 px
        ((999.0, 100.0, 130.0), 1.0),  # 30 px straight down
        ((0.0, 100.0, 100.0), 2.0),  # same instant, same place
    ],
)
def test_rage_click_streak_edges(second: tuple[float, float, float], expected: float) -> None:
    state = RageState()
    state.click(0.0, 100.0, 100.0)
    state.click(*second)
    assert RageClicks(state).value(second[0]) == expected


def test_rage_clicks_reads_zero_after_1000_ms_and_compares_with_the_previous_click() -> None:
    state = RageState()
    rage = RageClicks(state)
    assert rage.value(0.0) == 0.0
    assert rage.deadline(0.0, 3.0) is None
    state.click(0.0, 0.0, 0.0)
    state.click(900.0, 20.0, 0.0)
    state.click(1800.0, 40.0, 0.0)  # 40 px from the first, 20 px from the previous one
    assert rage.value(1800.0) == 3.0
    assert rage.value(2799.999) == 3.0
    assert rage.deadline(1800.0, 3.0) == 2800.0
    assert rage.value(2800.0) == 0.0
    assert rage.deadline(2800.0, 3.0) is None
    state.click(2900.0, 40.0, 0.0)  # too late: a new streak
    assert rage.value(2900.0) == 1.0


def scroll_state(*samples: tuple[float, float], window: float = 300.0) -> ScrollState:
    state = ScrollState({window})
    for t, y in samples:
        state.scroll(t, y, 800.0, 4000.0)
    return state


# t, scroll_y: deltas 0 (first sample), 50, 100, 10
VELOCITY_TRACE = ((0.0, 0.0), (100.0, 50.0), (200.0, 150.0), (350.0, 160.0))


@pytest.mark.parametrize(
    ("t", "px_per_s"),
    [
        (200.0, 150.0 / 0.3),  # (-100, 200]: 0 + 50 + 100
        (350.0, 160.0 / 0.3),  # (50, 350]: 50 + 100 + 10
        (399.999, 160.0 / 0.3),
        (400.0, 110.0 / 0.3),  # 100 leaves at exactly 400
        (500.0, 10.0 / 0.3),  # (200, 500]: 350 only
        (649.999, 10.0 / 0.3),
        (650.0, 0.0),
    ],
)
def test_scroll_velocity_reader(t: float, px_per_s: float) -> None:
    state = scroll_state(*(s for s in VELOCITY_TRACE if s[0] <= t))
    velocity = ScrollVelocity(state, 300.0)
    assert velocity.value(t) == pytest.approx(px_per_s)


def test_scroll_velocity_custom_window_and_deadline() -> None:
    state = scroll_state(*VELOCITY_TRACE, window=1000.0)
    velocity = ScrollVelocity(state, 1000.0)
    assert velocity.value(350.0) == pytest.approx(160.0)  # 160 px over 1 s
    assert velocity.value(1100.0) == pytest.approx(110.0)  # 0 and 100 left
    assert velocity.deadline(350.0, 1.0) == 1000.0  # the sample at 0 leaves
    assert velocity.deadline(1200.0, 1.0) == 1350.0
    assert velocity.deadline(1350.0, 1.0) is None


# one sample per second, so each window holds one scroll: velocities 100, 200, 300,
# 400, 500 px/s (baseline: 5 samples, median 300), then 200 (ratio 2/3; the median
# becomes (200 + 300) / 2 = 250), then 500 (ratio 2)
RATIO_TRACE = [(0.0, 0.0)] + [(1000.0 * k, 15.0 * k * (k + 1)) for k in range(1, 6)]
RATIO_TRACE += [(6000.0, 510.0), (7000.0, 660.0)]


def test_ratio_trace_has_the_intended_velocities() -> None:
    state = ScrollState({300.0})
    seen = []
    for t, y in RATIO_TRACE:
        state.scroll(t, y, 800.0, 4000.0)
        seen.append(ScrollVelocity(state, 300.0).value(t))
    assert seen == pytest.approx([0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 200.0, 500.0])


@pytest.mark.parametrize(
    ("t", "ratio"),
    [
        (1000.0, None),  # the first non-zero sample: no baseline
        (4000.0, None),  # 3 earlier samples
        (4300.0, None),  # window empty, still fewer than 5
        (5000.0, None),  # 4 earlier samples at this event (the 5th is this one)
        (5299.0, None),  # keeps its last value (absent)
        (5300.0, 0.0),  # window empty, baseline ready: 0
        (6000.0, 200.0 / 300.0),
        (6299.999, 200.0 / 300.0),  # keeps its last value until the window empties
        (6300.0, 0.0),
        (7000.0, 2.0),  # 500 / median(100, 200, 200, 300, 400, 500) = 500 / 250
        (7300.0, 0.0),
    ],
)
def test_scroll_velocity_ratio_reader(t: float, ratio: float | None) -> None:
    state = ScrollState({300.0})
    for ts, y in RATIO_TRACE:
        if ts <= t:
            state.scroll(ts, y, 800.0, 4000.0)
    value = ScrollVelocityRatio(state, 300.0).value(t)
    assert value == (None if ratio is None else pytest.approx(ratio))


def test_scroll_velocity_ratio_is_absent_before_any_scroll_and_ignores_zero_samples() -> None:
    state = ScrollState({300.0})
    ratio = ScrollVelocityRatio(state, 300.0)
    assert ratio.value(0.0) is None
    assert ratio.deadline(0.0, 1.0) is None
    # five samples at the same scroll_y: all zero velocities, no baseline
    for k in range(6):
        state.scroll(1000.0 * k, 0.0, 800.0, 4000.0)
    assert ratio.value(5000.0) is None
    assert ratio.value(9000.0) is None
    assert ratio.deadline(5000.0, 1.0) == 5300.0


@given(
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 3000)), min_size=1, max_size=40),
    st.sampled_from([100.0, 300.0, 1000.0]),
)
def test_scroll_signals_match_a_brute_force_model(
    steps: list[tuple[int, int]], window: float
) -> None:
    """At every scroll event: velocity = the |Δ|s of the scroll events in
    (t - w, t] per second; ratio = that velocity / the exact median of the
    non-zero velocities at the earlier scroll events, absent before 5 exist."""
    state = ScrollState({window})
    velocity, ratio = ScrollVelocity(state, window), ScrollVelocityRatio(state, window)
    seen: list[tuple[float, float]] = []  # (t, |Δ|)
    baseline: list[float] = []
    t, last_y = 0.0, None
    for dt, y in steps:
        t += dt
        state.scroll(t, float(y), 800.0, 4000.0)
        seen.append((t, 0.0 if last_y is None else abs(y - last_y)))
        last_y = y
        expected_v = sum(d for ts, d in seen if ts + window > t) * 1000.0 / window
        assert velocity.value(t) == pytest.approx(expected_v)
        if len(baseline) < 5:
            assert ratio.value(t) is None
        else:
            assert ratio.value(t) == pytest.approx(expected_v / statistics.median(baseline))
        if expected_v > 0:
            baseline.append(expected_v)


@pytest.mark.parametrize(
    ("samples", "depth"),
    [
        ([], 0.0),
        ([(0.0, 800.0, 4000.0)], 0.2),
        ([(0.0, 800.0, 4000.0), (1000.0, 800.0, 4000.0)], 0.45),
        ([(1000.0, 800.0, 4000.0), (0.0, 800.0, 4000.0)], 0.45),  # the maximum stays
        ([(5000.0, 800.0, 4000.0)], 1.0),  # clipped
        ([(0.0, 4000.0, 2000.0)], 1.0),  # a short document
        ([(-900.0, 800.0, 4000.0)], 0.0),  # rubber-band overscroll: clipped at 0
    ],
)
def test_scroll_depth_reader(samples: list[tuple[float, float, float]], depth: float) -> None:
    state = ScrollState(set())
    for i, (y, vh, dh) in enumerate(samples):
        state.scroll(float(i), y, vh, dh)
    reader = ScrollDepth(state)
    assert reader.value(99.0) == depth
    assert reader.deadline(99.0, 0.5) is None


def test_page_readers() -> None:
    idle = IdleState()
    assert IdleMs(idle).value(0.0) == 0.0
    assert IdleMs(idle).value(700.0) == 700.0  # since t = 0 before any input
    assert IdleMs(idle).deadline(700.0, 1000.0) == 1000.0
    idle.last_input = 900.0
    assert IdleMs(idle).value(1000.0) == 100.0
    assert IdleMs(idle).deadline(1000.0, 1000.0) == 1900.0
    assert TimeOnPage().value(1234.5) == 1234.5
    assert TimeOnPage().deadline(0.0, 2500.0) == 2500.0
    device = DeviceState()
    assert Pointer(device).value(0.0) is None
    assert ViewportWidth(device).value(0.0) is None
    device.pointer, device.viewport_w = "touch", 390.0
    assert Pointer(device).value(0.0) == "touch"
    assert ViewportWidth(device).value(0.0) == 390.0


@pytest.mark.parametrize(("y", "value"), [(-5.0, 1.0), (0.0, 1.0), (10.0, 1.0), (10.5, 0.0)])
def test_exit_intent_reader(y: float, value: float) -> None:
    state = ExitState()
    exit_intent = ExitIntent(state)
    assert exit_intent.value(0.0) == 0.0
    state.leave(y)
    assert exit_intent.value(1.0) == value
    state.moved()
    assert exit_intent.value(2.0) == 0.0
    assert exit_intent.deadline(2.0, 1.0) is None


def test_non_input_types() -> None:
    assert {"visibility", "dismiss", "goal", "consent"} == NON_INPUT_TYPES


# == through the Engine (one-leaf triggers) ===================================


def leaf(signal: str, op: str, value: object, **params: float) -> dict[str, object]:
    return {"signal": signal, op: value, **params}


def test_dwell_decides_exactly_at_the_crossing() -> None:
    cfg = one_trigger(leaf("dwell_ms", "gte", 500), **TARGET)
    assert run(cfg, [ev(100, "pointerenter", TID)], until=10_000) == [(600.0, "fire")]
    # a later event does not move the decision
    trace = [ev(100, "pointerenter", TID), ev(900, "pointermove", TID)]
    assert run(cfg, trace) == [(600.0, "fire")]


def test_dwell_gt_decides_just_after_the_crossing() -> None:
    cfg = one_trigger(leaf("dwell_ms", "gt", 500), **TARGET)
    assert run(cfg, [ev(100, "pointerenter", TID)], until=10_000) == [(after(600.0), "fire")]


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        ([ev(100, "pointerenter", TID), ev(599, "pointerleave", TID)], []),
        ([ev(100, "pointerenter", TID), ev(599, "leave", x=5, y=300)], []),  # left the page
        # re-entering restarts the count
        (
            [ev(100, "pointerenter", TID), ev(400, "pointerleave", TID),
             ev(450, "pointerenter", TID)],
            [(950.0, "fire")],
        ),
        # pointerenter without the trigger's id is another element
        ([ev(100, "pointerenter", "other")], []),
        ([ev(100, "pointerenter")], []),
    ],
)  # fmt: skip
def test_dwell_cases(trace: list[dict[str, object]], expected: list[tuple[float, str]]) -> None:
    cfg = one_trigger(leaf("dwell_ms", "gte", 500), **TARGET)
    assert run(cfg, trace, until=10_000) == expected


@pytest.mark.parametrize(
    ("when", "trace", "expected"),
    [
        # eq on a time-driven signal: true at one instant, decided exactly then
        (leaf("dwell_ms", "eq", 500), [ev(100, "pointerenter", TID)], [(600.0, "fire")]),
        (leaf("time_on_page_ms", "eq", 1000), [], [(1000.0, "fire")]),
        # idle_ms is 0 at t = 0 and at every input event
        (leaf("idle_ms", "eq", 0), [ev(0, "goal", name="g"), ev(300, "input")],
         [(0.0, "fire"), (300.0, "fire")]),
    ],
)  # fmt: skip
def test_eq_on_time_driven_signals(
    when: dict[str, object], trace: list[dict[str, object]], expected: list[tuple[float, str]]
) -> None:
    cfg = one_trigger(when, **TARGET, **NO_COOLDOWN)
    assert run(cfg, trace, until=5000) == expected


def test_two_windows_of_one_signal_in_one_trigger() -> None:
    cfg = one_trigger(
        {"all": [leaf("keystrokes", "gte", 2, window_ms=500),
                 leaf("keystrokes", "gte", 3, window_ms=2000)]},
        **TARGET,
    )  # fmt: skip
    keys = [ev(t, "keydown", TID, key="char") for t in (0, 1000, 1400)]
    assert run(cfg, keys, until=5000) == [(1400.0, "fire")]
    keys = [ev(t, "keydown", TID, key="char") for t in (0, 900, 1400)]
    assert run(cfg, keys, until=5000) == []  # 900 left the 500 ms window at exactly 1400


def test_focus_ms() -> None:
    cfg = one_trigger(leaf("focus_ms", "gte", 1000), **TARGET)
    assert run(cfg, [ev(200, "focus", TID)], until=5000) == [(1200.0, "fire")]
    assert run(cfg, [ev(200, "focus", TID), ev(1100, "blur", TID)], until=5000) == []
    # a focus elsewhere blurs the target (the engine's choice)
    assert run(cfg, [ev(200, "focus", TID), ev(1100, "focus", "other")], until=5000) == []
    assert run(cfg, [ev(200, "focus", TID), ev(1100, "focus")], until=5000) == []


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        ([ev(0, "focus", TID)], 2000.0),
        ([ev(0, "focus", TID), ev(500, "keydown", TID, key="char"),
          ev(1500, "keydown", TID, key="char")], 3500.0),
        ([ev(0, "focus", TID), ev(1500, "keydown", TID, key="char"),
          ev(3000, "input", TID)], 5000.0),  # an input is activity too
        # a keydown elsewhere is not activity in the target
        ([ev(0, "focus", TID), ev(1500, "keydown", "other", key="char")], 2000.0),
    ],
)  # fmt: skip
def test_hesitation_ms(trace: list[dict[str, object]], expected: float) -> None:
    cfg = one_trigger(leaf("hesitation_ms", "gte", 2000), **TARGET)
    assert run(cfg, trace, until=20_000) == [(expected, "fire")]


def test_pauses_with_custom_pause_ms() -> None:
    cfg = one_trigger(leaf("pauses", "gte", 2, pause_ms=1000), **TARGET)
    trace = [
        ev(0, "focus", TID),
        ev(1200, "keydown", TID, key="char"),  # focus → key 1200: pause 1
        ev(1500, "keydown", TID, key="char"),  # 300: no pause
    ]
    # the running gap 1500 → now reaches 1000 ms at 2500: pause 2
    assert run(cfg, trace, until=10_000) == [(2500.0, "fire")]


def test_pauses_default_pause_ms_is_2500() -> None:
    cfg = one_trigger(leaf("pauses", "gte", 1), **TARGET)
    assert run(cfg, [ev(100, "focus", TID)], until=10_000) == [(2600.0, "fire")]


def test_pauses_count_per_focus_session() -> None:
    cfg = one_trigger(leaf("pauses", "gte", 2, pause_ms=1000), **TARGET)
    trace = [
        ev(0, "focus", TID),
        ev(1200, "keydown", TID, key="char"),  # pause 1
        ev(1300, "blur", TID),
        ev(1400, "focus", TID),  # a new session: 0
        ev(1500, "keydown", TID, key="char"),
    ]
    # 1500 → 2500 is this session's first pause, 2nd comes with the next key after
    trace += [ev(3000, "keydown", TID, key="char")]  # gap 1500: pause 1 of the session
    assert run(cfg, trace, until=10_000) == [(4000.0, "fire")]


def test_keystrokes_at_the_window_edges() -> None:
    cfg = one_trigger(leaf("keystrokes", "gte", 3, window_ms=1000), **TARGET)
    keys = [ev(t, "keydown", TID, key="char") for t in (100, 600, 1099)]
    assert run(cfg, keys, until=5000) == [(1099.0, "fire")]
    keys = [ev(t, "keydown", TID, key="char") for t in (100, 600, 1100)]
    assert run(cfg, keys, until=5000) == []  # 100 left the window at exactly 1100


def test_keystrokes_window_expiry_is_a_deadline() -> None:
    cfg = one_trigger(leaf("keystrokes", "lte", 0, window_ms=1000), **TARGET, **NO_COOLDOWN)
    trace = [ev(100, "keydown", TID, key="nav"), ev(400, "keydown", TID, key="enter")]
    assert run(cfg, trace, until=5000) == [(0.0, "fire"), (1400.0, "fire")]


def test_keystroke_rate_custom_window() -> None:
    cfg = one_trigger(leaf("keystroke_rate", "gte", 2, window_ms=1500), **TARGET)
    keys = [ev(t, "keydown", TID, key="char") for t in (0, 700, 1400)]
    assert run(cfg, keys, until=5000) == [(1400.0, "fire")]  # 3 keys / 1.5 s
    keys = [ev(t, "keydown", TID, key="char") for t in (0, 700, 1500)]
    assert run(cfg, keys, until=5000) == []


def test_keystroke_rate_falls_exactly_at_the_expiry() -> None:
    cfg = one_trigger(leaf("keystroke_rate", "lt", 1, window_ms=2000), **TARGET, **NO_COOLDOWN)
    keys = [ev(t, "keydown", TID, key="char") for t in (100, 200)]
    # 2 keys / 2 s = 1/s from 200; one key left at 2100 (0.5/s)
    assert run(cfg, keys, until=5000) == [(0.0, "fire"), (2100.0, "fire")]


def click(t: float, x: float, y: float) -> dict[str, object]:
    return ev(t, "click", TID, x=x, y=y)


@pytest.mark.parametrize(
    ("clicks", "expected"),
    [
        ([click(0, 10, 10), click(500, 20, 20), click(1400, 25, 25)], [(1400.0, "fire")]),
        ([click(0, 10, 10), click(500, 20, 20), click(1500, 25, 25)], []),  # 1000 ms gap
        ([click(0, 10, 10), click(500, 20, 20), click(1400, 10, 40)], []),  # 30 px
        ([click(0, 10, 10), click(500, 20, 20), click(1400, 34, 19)], [(1400.0, "fire")]),
        # clicks elsewhere on the page neither extend nor break the streak
        ([click(0, 10, 10), ev(100, "click", x=10, y=10), click(500, 20, 20),
          click(900, 20, 20)], [(900.0, "fire")]),
    ],
)  # fmt: skip
def test_rage_clicks(clicks: list[dict[str, object]], expected: list[tuple[float, str]]) -> None:
    cfg = one_trigger(leaf("rage_clicks", "gte", 3), **TARGET)
    assert run(cfg, clicks, until=10_000) == expected


def test_rage_clicks_reset_to_zero_is_a_deadline() -> None:
    cfg = one_trigger(leaf("rage_clicks", "eq", 0), **TARGET, **NO_COOLDOWN)
    clicks = [click(100, 0, 0), click(600, 5, 5)]
    assert run(cfg, clicks, until=10_000) == [(0.0, "fire"), (1600.0, "fire")]


def scroll(t: float, y: float, vh: float = 800.0, dh: float = 4000.0) -> dict[str, object]:
    return ev(t, "scroll", scroll_y=y, viewport_h=vh, doc_h=dh)


def test_scroll_velocity() -> None:
    cfg = one_trigger(leaf("scroll_velocity", "gte", 500))
    trace = [scroll(t, y) for t, y in VELOCITY_TRACE]
    assert run(cfg, trace, until=5000) == [(200.0, "fire")]  # 150 px in 0.3 s


def test_scroll_velocity_window_expiry_is_a_deadline() -> None:
    cfg = one_trigger(leaf("scroll_velocity", "lt", 100), **NO_COOLDOWN)
    trace = [scroll(t, y) for t, y in VELOCITY_TRACE]
    # 0 at t = 0 (no scroll); 10 px/0.3 s = 33 px/s from 400 (100 and 200 gone)
    assert run(cfg, trace, until=5000) == [(0.0, "fire"), (500.0, "fire")]


def test_scroll_velocity_custom_window() -> None:
    cfg = one_trigger(leaf("scroll_velocity", "gte", 160, window_ms=1000))
    trace = [scroll(t, y) for t, y in VELOCITY_TRACE]
    assert run(cfg, trace, until=5000) == [(350.0, "fire")]  # 160 px in 1 s


def test_scroll_velocity_ratio() -> None:
    cfg = one_trigger(leaf("scroll_velocity_ratio", "gte", 2))
    trace = [scroll(t, y) for t, y in RATIO_TRACE]
    assert run(cfg, trace, until=20_000) == [(7000.0, "fire")]


def test_scroll_velocity_ratio_absent_keeps_not_false_until_the_baseline() -> None:
    cfg = one_trigger({"not": leaf("scroll_velocity_ratio", "gte", 100)})
    trace = [scroll(t, y) for t, y in RATIO_TRACE[:6]]
    # absent through 5299 (no baseline at any scroll yet), 0 once the window empties
    assert run(cfg, trace, until=20_000) == [(5300.0, "fire")]


def test_scroll_velocity_ratio_keeps_its_value_until_the_window_empties() -> None:
    cfg = one_trigger(leaf("scroll_velocity_ratio", "gt", 0.5), **NO_COOLDOWN)
    trace = [scroll(t, y) for t, y in RATIO_TRACE]
    # 2/3 at 6000 until 6300, then 0; 2 at 7000 until 7300
    assert run(cfg, trace, until=20_000) == [(6000.0, "fire"), (7000.0, "fire")]
    cfg = one_trigger(leaf("scroll_velocity_ratio", "lt", 0.5), **NO_COOLDOWN)
    assert run(cfg, trace, until=20_000) == [(5300.0, "fire"), (6300.0, "fire"), (7300.0, "fire")]


def test_scroll_velocity_ratio_custom_window() -> None:
    cfg = one_trigger(leaf("scroll_velocity_ratio", "lt", 0.5, window_ms=500), **NO_COOLDOWN)
    trace = [scroll(t, y) for t, y in RATIO_TRACE]
    assert run(cfg, trace, until=20_000) == [(5500.0, "fire"), (6500.0, "fire"), (7500.0, "fire")]


def test_scroll_depth() -> None:
    cfg = one_trigger(leaf("scroll_depth", "gte", 0.5))
    trace = [scroll(0, 0), scroll(500, 1000), scroll(900, 1200), scroll(1000, 0)]
    # 0.2, 0.45, 0.5 (fires), back to the top: the maximum stays
    assert run(cfg, trace, until=5000) == [(900.0, "fire")]


def test_scroll_depth_is_zero_before_any_sample() -> None:
    cfg = one_trigger(leaf("scroll_depth", "lte", 0))
    assert run(cfg, [], until=10) == [(0.0, "fire")]


@pytest.mark.parametrize("kind", sorted(NON_INPUT_TYPES))
def test_idle_ignores_non_input_types(kind: str) -> None:
    fields = {
        "visibility": {"state": "hidden"},
        "consent": {"state": True},
        "goal": {"name": "signup"},
        "dismiss": {"name": "other"},
    }[kind]
    cfg = one_trigger(leaf("idle_ms", "gte", 1000))
    assert run(cfg, [ev(500, kind, **fields)], until=5000) == [(1000.0, "fire")]


INPUT_EVENTS = {
    "pointermove": {}, "pointerenter": {}, "pointerleave": {}, "pointerdown": {},
    "pointerup": {}, "click": {"x": 1, "y": 1}, "keydown": {"key": "char"}, "input": {},
    "focus": {}, "blur": {}, "scroll": {"scroll_y": 0, "viewport_h": 800, "doc_h": 4000},
    "dragstart": {}, "dragend": {}, "selection": {"state": False}, "compositionstart": {},
    "compositionend": {}, "leave": {"x": 1, "y": 500}, "context": {"pointer": "mouse"},
}  # fmt: skip


def test_input_events_table_covers_every_other_type() -> None:
    assert set(INPUT_EVENTS) | NON_INPUT_TYPES == EVENT_TYPES


@pytest.mark.parametrize("kind", sorted(INPUT_EVENTS))
def test_idle_restarts_on_every_input_type(kind: str) -> None:
    cfg = one_trigger(leaf("idle_ms", "gte", 1000))
    assert run(cfg, [ev(500, kind, **INPUT_EVENTS[kind])], until=5000) == [(1500.0, "fire")]


def test_idle_counts_from_zero() -> None:
    cfg = one_trigger(leaf("idle_ms", "gte", 1000))
    assert run(cfg, [], until=5000) == [(1000.0, "fire")]


def test_time_on_page() -> None:
    cfg = one_trigger(leaf("time_on_page_ms", "gte", 2500))
    assert run(cfg, [ev(100, "pointermove"), ev(3000, "pointermove")]) == [(2500.0, "fire")]


@pytest.mark.parametrize(
    ("y", "expected"), [(10, [(50.0, "fire")]), (0, [(50.0, "fire")]), (10.01, []), (11, [])]
)
def test_exit_intent_edge(y: float, expected: list[tuple[float, str]]) -> None:
    cfg = one_trigger(leaf("exit_intent", "eq", 1))
    assert run(cfg, [ev(50, "leave", x=400, y=y)], until=1000) == expected


def test_exit_intent_holds_until_the_pointer_moves() -> None:
    cfg = one_trigger(leaf("exit_intent", "eq", 0), **NO_COOLDOWN)
    trace = [
        ev(50, "leave", x=400, y=3),
        ev(60, "click", x=1, y=1),  # not a pointer move
        ev(70, "scroll", scroll_y=0, viewport_h=1, doc_h=1),
        ev(900, "pointermove", x=400, y=20),
    ]
    assert run(cfg, trace, until=1000) == [(0.0, "fire"), (900.0, "fire")]


def test_pointer_and_viewport_w_come_from_context() -> None:
    cfg = one_trigger({"all": [leaf("pointer", "eq", "touch"), leaf("viewport_w", "lt", 600)]})
    trace = [
        ev(0, "context", pointer="mouse", viewport_w=1280),
        ev(100, "context", pointer="touch"),  # viewport_w stays 1280
        ev(200, "context", viewport_w=390),
    ]
    assert run(cfg, trace, until=1000) == [(200.0, "fire")]


def test_device_context_absent_before_a_context_event() -> None:
    cfg = one_trigger({"not": leaf("pointer", "eq", "touch")})
    assert run(cfg, [ev(100, "pointermove")], until=1000) == []
    assert run(cfg, [ev(100, "context", pointer="pen")], until=1000) == [(100.0, "fire")]
