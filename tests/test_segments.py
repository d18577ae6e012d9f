"""Segments, overrides and adaptation from local state (pytrigger.segments), with fake time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytrigger.conditions import All, Leaf, Not
from pytrigger.config import load_config
from pytrigger.engine import Engine
from pytrigger.events import Event
from pytrigger.segments import (
    ADAPT_MAX,
    SessionHistory,
    adapt_trigger,
    adaptation_factor,
    decide_segment,
    parse_state,
)
from pytrigger.triggers import SegmentSettings

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "segments"


def config_with(**extra: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "triggers": [
            {
                "id": "help",
                "target": "#q",
                "when": {"signal": "hesitation_ms", "gte": 2500},
                "segments": {
                    "new": {"when": {"signal": "hesitation_ms", "gte": 1000}, "hold_ms": 200},
                    "power": {"when": {"signal": "hesitation_ms", "gte": 3000}, "hold_ms": 450},
                    "frustrated": {"action": {"toast": {"title": "Stuck?"}}},
                },
            }
        ],
        **extra,
    }


def fire_time(config: dict[str, Any], state: dict[str, Any] | None, unit: str | None = None,
              until: float = 20000.0) -> float | None:  # fmt: skip
    """When the trigger fires after focus at 0 and one key at 100 (no more keys)."""
    engine = Engine(load_config(config), state=state, unit_id=unit)
    engine.feed(Event(0.0, "focus", ("help",)))
    engine.feed(Event(100.0, "keydown", ("help",), key="char"))
    fires = [d.t for d in engine.advance(until) if d.kind == "fire"]
    return fires[0] if fires else None


# -- parse_state ---------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [None, [], "x", 3, {"sessions": -1}, {"sessions": "7"}, {"sessions": True},
     {"sessions": float("nan")}, {"last": [1]}, {"dismissals": {"a": "2"}}],
)  # fmt: skip
def test_a_malformed_state_reads_as_a_new_visitor(obj: object) -> None:
    state = parse_state(obj)
    assert state.sessions == 0 and state.dismissals == {} and state.last == {}
    assert decide_segment(SegmentSettings(), state) == "new"


def test_parse_state_keeps_what_is_valid_and_caps_dismissals() -> None:
    state = parse_state(
        {"sessions": 3, "typing_rate": 4.5, "last": {"rage_clicks": 2, "hesitation_ms": "x"},
         "dismissals": {"a": 99, 7: 1}, "context": {"pointer": "touch", "viewport_w": 390}}
    )  # fmt: skip
    assert (state.sessions, state.typing_rate) == (3, 4.5)
    assert state.last == {"rage_clicks": 2.0}
    assert state.dismissals == {"a": 10}
    assert state.context == {"pointer": "touch", "viewport_w": 390.0}


# -- decide_segment ------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "segment"),
    [
        (None, "new"),
        ({"sessions": 1}, None),
        ({"sessions": 4, "typing_rate": 9}, None),  # not enough sessions for power
        ({"sessions": 5, "typing_rate": 3.9}, None),  # typing too slow for power
        ({"sessions": 5, "typing_rate": 4.0}, "power"),
        ({"sessions": 9, "typing_rate": 8, "last": {"rage_clicks": 3}}, "frustrated"),
        ({"sessions": 9, "last": {"hesitation_ms": 10000}}, "frustrated"),
        ({"sessions": 9, "last": {"hesitation_ms": 9999}}, None),
        ({"sessions": 0, "last": {"dismissals": 2}}, "frustrated"),  # frustrated comes first
        ({"sessions": 9, "last": {"dismissals": 1}}, None),
    ],
)
def test_builtin_segments_in_their_order(state: dict[str, Any] | None, segment: str | None) -> None:
    assert decide_segment(SegmentSettings(), parse_state(state)) == segment


def test_thresholds_come_from_the_config() -> None:
    power = {"sessions": 2, "keystroke_rate": 1}
    config = load_config(config_with(segments={"thresholds": {"power": power}}))
    state = parse_state({"sessions": 2, "typing_rate": 1})
    assert decide_segment(config.segments, state) == "power"


def test_a_site_segment_reads_the_device_context() -> None:
    raw = config_with(segments={"custom": [
        {"name": "phone", "when": {"all": [{"signal": "pointer", "eq": "touch"},
                                           {"signal": "viewport_w", "lt": 600}]}}]})  # fmt: skip
    raw["triggers"][0]["segments"]["phone"] = {"hold_ms": 1000}
    phone = {"sessions": 2, "context": {"pointer": "touch", "viewport_w": 390}}
    desktop = {"sessions": 2, "context": {"pointer": "mouse", "viewport_w": 1280}}
    assert Engine(load_config(raw), state=phone).segment == "phone"
    assert Engine(load_config(raw), state=desktop).segment is None
    assert fire_time(raw, phone) == 2600.0 + 1000.0
    assert fire_time(raw, desktop) == 2600.0
    assert Engine(load_config(raw), state={"context": phone["context"]}).segment == "new"


# -- overrides through the engine ----------------------------------------------


def test_new_and_power_visitors_get_their_own_thresholds() -> None:
    raw = config_with()
    assert fire_time(raw, None) == 100.0 + 1000.0 + 200.0  # new
    assert fire_time(raw, {"sessions": 6, "typing_rate": 6}) == 100.0 + 3000.0 + 450.0  # power
    assert fire_time(raw, {"sessions": 2}) == 100.0 + 2500.0  # no segment: the base trigger


def test_the_segment_is_reported_only_for_triggers_with_segment_overrides() -> None:
    raw = config_with()
    raw["triggers"].append({"id": "plain", "when": {"signal": "time_on_page_ms", "gte": 50}})
    engine = Engine(load_config(raw), state=None)
    decisions = engine.advance(60.0)
    assert [(d.trigger, d.segment) for d in decisions] == [("plain", None)]
    engine.feed(Event(100.0, "focus", ("help",)))
    (fired,) = engine.advance(2000.0)
    assert (fired.trigger, fired.segment) == ("help", "new")


def test_the_frustrated_segment_gets_the_minimal_prompt() -> None:
    engine = Engine(load_config(config_with()), state={"sessions": 4, "last": {"rage_clicks": 5}})
    engine.feed(Event(0.0, "focus", ("help",)))
    (fired,) = engine.advance(3000.0)
    assert fired.segment == "frustrated"
    assert fired.action is not None and fired.action.title == "Stuck?"  # type: ignore[union-attr]


def test_arm_then_segment_precedence() -> None:
    raw = config_with()
    raw["triggers"][0]["experiment"] = {
        "key": "help-exp",
        "arms": [
            {"name": "A", "weight": 0.0},
            {"name": "B", "weight": 1.0,
             "override": {"when": {"signal": "hesitation_ms", "gte": 5000}, "hold_ms": 50}},
        ],
    }  # fmt: skip
    # a visitor with no segment: the arm's override
    assert fire_time(raw, {"sessions": 2}, unit="u1") == 100.0 + 5000.0 + 50.0
    # a new visitor: the arm's, then the segment's (which names when and hold_ms: it wins)
    assert fire_time(raw, None, unit="u1") == 100.0 + 1000.0 + 200.0
    # a segment that names only the action keeps the arm's when and hold
    assert fire_time(raw, {"sessions": 2, "last": {"rage_clicks": 9}}, unit="u1") == 5150.0


# -- adaptation ----------------------------------------------------------------


def test_adaptation_factor_is_bounded() -> None:
    assert adaptation_factor(0) == 1.0 and adaptation_factor(1) == 1.25
    assert adaptation_factor(50) == ADAPT_MAX


def test_adapt_trigger_raises_the_lower_thresholds_only() -> None:
    when = {"all": [
        {"signal": "hesitation_ms", "gte": 2000}, {"signal": "scroll_depth", "lt": 0.5},
        {"signal": "exit_intent", "eq": 1}, {"not": {"signal": "idle_ms", "gt": 100}}]}  # fmt: skip
    config = load_config({"version": 1, "triggers": [{"id": "t", "target": "#q", "when": when}]})
    trigger = adapt_trigger(config.triggers[0], 2)
    assert isinstance(trigger.when, All)
    hes, depth, exit_, negated = trigger.when.parts
    assert isinstance(hes, Leaf) and hes.value == 2000 * 1.5625
    assert isinstance(depth, Leaf) and depth.value == 0.5  # an upper bound: left alone
    assert isinstance(exit_, Leaf) and exit_.value == 1  # binary: left alone
    assert isinstance(negated, Not) and negated == config.triggers[0].when.parts[3]  # type: ignore[union-attr]
    assert adapt_trigger(config.triggers[0], 0) is config.triggers[0]


def test_a_dismissed_trigger_waits_longer_for_that_visitor() -> None:
    raw = config_with()
    base = {"sessions": 2}
    assert fire_time(raw, base) == 2600.0
    assert fire_time(raw, {**base, "dismissals": {"help": 1}}) == 100.0 + 2500.0 * 1.25
    assert fire_time(raw, {**base, "dismissals": {"help": 10}}) == 100.0 + 2500.0 * ADAPT_MAX
    assert fire_time(raw, {**base, "dismissals": {"other": 5}}) == 2600.0


# -- SessionHistory ------------------------------------------------------------


def test_history_measures_rage_hesitation_typing_and_dismissals() -> None:
    history = SessionHistory(parse_state({"sessions": 2, "typing_rate": 2.0,
                                          "dismissals": {"help": 1}}))  # fmt: skip
    changed = []
    for event in [
        Event(0.0, "focus", ("help",)),
        Event(11000.0, "keydown", ("help",), key="char"),  # an 11 s hesitation
        *(Event(11000.0 + 200.0 * i, "keydown", ("help",), key="char") for i in range(1, 6)),
        Event(13000.0, "blur", ("help",)),
        *(Event(14000.0 + 100.0 * i, "click", x=10.0 + i, y=10.0) for i in range(4)),
        Event(16000.0, "click", x=400.0, y=10.0),  # far away: a new streak
        Event(17000.0, "dismiss", name="help"),
    ]:
        changed.append(history.observe(event))
    assert history.rage_max == 4
    assert history.hesitation_max == 11000.0
    assert history.typing_rate == pytest.approx(5.0)  # 5 keys 200 ms apart
    state = history.next_state()
    assert state == {
        "version": 1,
        "sessions": 3,
        "last": {"rage_clicks": 4, "hesitation_ms": 11000.0, "dismissals": 1},
        "dismissals": {"help": 2},
        "typing_rate": round(2.0 + 0.3 * (5.0 - 2.0), 3),
    }
    assert changed[-1] is True  # a dismissal is worth keeping at once
    assert decide_segment(SegmentSettings(), parse_state(state)) == "frustrated"


def test_a_first_session_without_typing_has_no_typing_rate() -> None:
    state = SessionHistory(parse_state(None)).next_state()
    assert state["sessions"] == 1 and "typing_rate" not in state


# -- the example, replayed by the CLI ------------------------------------------


@pytest.mark.parametrize("segment", ["new", "power", "frustrated"])
def test_simulate_replays_each_visitor(segment: str) -> None:
    args = [sys.executable, "-m", "pytrigger", "simulate", "--config", str(EXAMPLE / "config.json")]
    if segment != "new":
        args += ["--state", str(EXAMPLE / f"state-{segment}.json")]
    done = subprocess.run([*args, str(EXAMPLE / "trace.jsonl")], capture_output=True, text=True,
                          check=True)  # fmt: skip
    expected = (EXAMPLE / f"expected-{segment}.jsonl").read_text()
    assert done.stdout == expected
    assert json.loads(expected)["segment"] == segment
