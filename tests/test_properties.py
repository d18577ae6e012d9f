"""Properties of the engine over random configs and random event streams
(hypothesis): it never raises from ``feed_json``; decisions come out in time
order; a trigger never acts in its cool-down (the backoff schedule, counting
dismisses) nor beyond ``max_per_session``, and every ``suppressed`` reason is
the right one; gates open and close in pairs; replays are deterministic; extra
``advance`` calls at any intermediate times change nothing."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pytrigger.config import load_config
from pytrigger.decisions import Decision
from pytrigger.engine import Engine
from pytrigger.triggers import CONTEXTS, EVENT_TYPES, Config, Trigger

IDS = ("a", "b")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# == configs ==================================================================

ms = st.sampled_from([0, 100, 250, 500, 1000, 2500])


def leaf(signal: str, op: st.SearchStrategy[str], value: Any, **params: Any) -> Any:
    return st.builds(
        lambda o, v, p: {"signal": signal, o: v, **p},
        op,
        value,
        st.fixed_dictionaries(params),
    )


ORDER = st.sampled_from(["gt", "gte", "lt", "lte"])
leaves = st.one_of(
    leaf("time_on_page_ms", ORDER, ms),
    leaf("idle_ms", ORDER, ms),
    leaf("exit_intent", st.just("eq"), st.sampled_from([0, 1])),
    leaf("scroll_depth", ORDER, st.sampled_from([0, 0.25, 0.5, 1])),
    leaf("scroll_velocity", ORDER, st.sampled_from([0, 100, 1000]),
         window_ms=st.sampled_from([300, 500])),
    leaf("scroll_velocity_ratio", ORDER, st.sampled_from([0.5, 1, 2]),
         window_ms=st.sampled_from([300, 500])),
    leaf("pointer", st.just("eq"), st.sampled_from(["mouse", "touch"])),
    leaf("viewport_w", ORDER, st.sampled_from([400, 800])),
    leaf("dwell_ms", ORDER, ms),
    leaf("focus_ms", ORDER, ms),
    leaf("hesitation_ms", ORDER, ms),
    leaf("pauses", ORDER, st.sampled_from([0, 1, 2]), pause_ms=st.sampled_from([300, 1000])),
    leaf("keystrokes", ORDER, st.sampled_from([0, 1, 3]),
         window_ms=st.sampled_from([500, 2000])),
    leaf("keystroke_rate", ORDER, st.sampled_from([0.5, 2]),
         window_ms=st.sampled_from([500, 2000])),
    leaf("rage_clicks", ORDER, st.sampled_from([0, 1, 3])),
)  # fmt: skip


def combinators(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    parts = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        parts.map(lambda p: {"all": p}),
        parts.map(lambda p: {"any": p}),
        children.map(lambda c: {"not": c}),
        parts.flatmap(
            lambda p: st.builds(
                lambda n, w: {"at_least": n, "of": p, "within_ms": w},
                st.integers(1, len(p)),
                st.sampled_from([100, 500, 2000]),
            )
        ),
    )


conditions = st.one_of(leaves, st.recursive(leaves, combinators, max_leaves=5))


@st.composite
def trigger_dicts(draw: st.DrawFn, id: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": id,
        "target": f"#{id}",
        "when": draw(conditions),
        "hold_ms": draw(st.sampled_from([0, 0, 100, 500])),
        "cooldown_ms": draw(st.sampled_from([0, 100, 500, 1000, 5000, 30000])),
        "backoff": draw(st.sampled_from([1, 1.5, 2, 3])),
        "max_cooldown_ms": draw(st.sampled_from([500, 8000, 3600000])),
        "max_per_session": draw(st.sampled_from([1, 2, 3, 5])),
        "suppress_when": draw(st.lists(st.sampled_from(CONTEXTS), unique=True, max_size=3)),
    }
    if draw(st.booleans()):
        confirm = ["click", "scroll", "keydown", "pointermove", "input"]
        out["gate"] = {
            "confirm": draw(st.lists(st.sampled_from(confirm), min_size=1, max_size=3,
                                     unique=True)),
            "within_ms": draw(st.sampled_from([200, 1000, 3000])),
        }  # fmt: skip
    return out


configs = st.tuples(trigger_dicts("a"), trigger_dicts("b")).map(
    lambda ts: load_config({"version": 1, "triggers": list(ts)})
)

# == event streams ============================================================

coord = st.sampled_from([0, 5, 10, 11, 20, 29, 30, 40, 300])


def fields_for(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    if kind in ("click", "leave"):
        return st.fixed_dictionaries({"x": coord, "y": coord})
    if kind == "scroll":
        return st.fixed_dictionaries(
            {"scroll_y": st.sampled_from([0, 10, 100, 500, 2000, 5000]),
             "viewport_h": st.just(800), "doc_h": st.sampled_from([1000, 4000])}
        )  # fmt: skip
    if kind == "keydown":
        return st.fixed_dictionaries({"key": st.sampled_from(["char", "backspace", "nav"])})
    if kind == "visibility":
        return st.fixed_dictionaries({"state": st.sampled_from(["visible", "hidden"])})
    if kind in ("selection", "consent"):
        return st.fixed_dictionaries({"state": st.booleans()})
    if kind in ("goal", "dismiss"):
        return st.fixed_dictionaries({"name": st.sampled_from(["a", "b", "zz"])})
    if kind == "context":
        return st.fixed_dictionaries(
            {},
            optional={"pointer": st.sampled_from(["mouse", "touch"]),
                      "viewport_w": st.sampled_from([390, 1280])},
        )  # fmt: skip
    return st.just({})


#: the types that move the signals most, drawn half of the time
HOT_TYPES = ["leave", "pointermove", "keydown", "click", "scroll", "dismiss", "focus",
             "pointerenter", "input"]  # fmt: skip


@st.composite
def traces(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Valid events with non-decreasing t; now and then one whose t goes
    backwards (malformed: dropped by feed_json)."""
    out: list[dict[str, Any]] = []
    t = 0.0
    for _ in range(draw(st.integers(0, 50))):
        dt = draw(st.one_of(st.sampled_from([0, 0, 1, 50, 100, 300, 1000, 2500, 31000]),
                            st.floats(0, 3000)))  # fmt: skip
        t += dt
        kind = draw(st.one_of(st.sampled_from(HOT_TYPES), st.sampled_from(sorted(EVENT_TYPES))))
        event = {"t": t, "type": kind, **draw(fields_for(kind))}
        targets = draw(st.lists(st.sampled_from(["a", "b", "zz"]), max_size=2, unique=True))
        if targets:
            event["targets"] = targets
        if t >= 10 and draw(st.integers(0, 19)) == 0:
            event["t"] = t - 10  # backwards
        out.append(event)
    return out


def end_of(trace: list[dict[str, Any]]) -> float:
    return max((e["t"] for e in trace), default=0.0) + 40_000.0


def replay(cfg: Config, trace: list[dict[str, Any]]) -> tuple[list[Decision], Engine]:
    engine = Engine(cfg)
    out: list[Decision] = []
    for obj in trace:
        out += engine.feed_json(obj)
    out += engine.advance(end_of(trace))
    return out, engine


# == properties ================================================================


@pytest.mark.timeout(120)  # a deadline that never advances would hang, not fail
@SETTINGS
@given(configs, traces())
def test_feed_json_never_raises_and_decisions_come_in_time_order(
    cfg: Config, trace: list[dict[str, Any]]
) -> None:
    engine = Engine(cfg)
    last = 0.0
    latest = 0.0  # the latest t accepted
    backwards = 0
    for obj in trace:
        out = engine.feed_json(obj)
        # an enter or leave is taken late (a page may hold them: Engine.hold_needs)
        if obj["t"] < latest and obj["type"] not in ("pointerenter", "pointerleave"):
            backwards += 1
            assert out == []
        latest = max(latest, obj["t"])
        for d in out:
            assert last <= d.t <= latest
            last = d.t
    for d in engine.advance(end_of(trace)):
        assert d.t >= last
        last = d.t
    assert engine.dropped == ({"t": backwards} if backwards else {})


def wait(trigger: Trigger, level: int) -> float:
    growth = trigger.backoff ** (level - 1)
    raw = trigger.cooldown_ms * growth if trigger.cooldown_ms > 0 else 0.0
    return min(raw, trigger.max_cooldown_ms)


class Schedule:
    """What DESIGN.md §4 allows one trigger to do, rebuilt from its decisions
    and the dismisses it received."""

    def __init__(self, trigger: Trigger) -> None:
        self.trigger = trigger
        self.level = 0
        self.until = -math.inf
        self.fires = 0
        self.gate_open = False
        self.seen: set[str] = set()

    def restart(self, t: float) -> None:
        self.level += 1
        self.until = t + wait(self.trigger, self.level)

    def may_act(self, t: float) -> bool:
        return self.fires < self.trigger.max_per_session and t >= self.until

    def see(self, d: Decision) -> None:
        trigger = self.trigger
        self.seen.add(d.kind if d.reason is None else f"{d.kind} {d.reason}")
        assert (d.reason is not None) == (d.kind == "suppressed")
        if d.kind == "suppressed":
            if d.reason == "max_per_session":
                assert self.fires >= trigger.max_per_session
            elif d.reason == "cooldown":
                assert self.fires < trigger.max_per_session and d.t < self.until
            else:
                assert self.may_act(d.t) and d.reason in trigger.suppress_when
            assert not self.gate_open
        elif d.kind == "gate":
            assert trigger.gate is not None and not self.gate_open
            assert self.may_act(d.t), (d, self.until, self.fires)
            self.gate_open = True
        elif d.kind == "expire":
            assert self.gate_open
            self.gate_open = False
        else:
            assert d.kind == "fire"
            assert self.gate_open == (trigger.gate is not None)
            assert self.may_act(d.t), (d, self.until, self.fires)
            self.gate_open = False
            self.fires += 1
            self.restart(d.t)


@pytest.mark.timeout(120)  # a deadline that never advances would hang, not fail
@SETTINGS
@given(configs, traces())
def test_never_acts_in_cooldown_nor_beyond_max_per_session(
    cfg: Config, trace: list[dict[str, Any]]
) -> None:
    engine = Engine(cfg)
    schedules = {trigger.id: Schedule(trigger) for trigger in cfg.triggers}

    def see(decisions: list[Decision]) -> None:
        for d in decisions:
            schedules[d.trigger].see(d)

    for obj in trace:
        if obj["t"] >= engine.now:
            see(engine.advance(obj["t"]))  # the deadlines up to and at t come first
        dropped = engine.dropped.total()
        out = engine.feed_json(obj)
        accepted = engine.dropped.total() == dropped
        if accepted and obj["type"] == "dismiss" and obj["name"] in schedules:
            schedules[obj["name"]].restart(obj["t"])
        see(out)
    see(engine.advance(end_of(trace)))
    for schedule in schedules.values():
        event(f"fires: {min(schedule.fires, 2)}")
        event(f"levels: {min(schedule.level, 3)}")
        for kind in schedule.seen:
            event(f"saw {kind}")


@pytest.mark.timeout(120)  # a deadline that never advances would hang, not fail
@SETTINGS
@given(configs, traces())
def test_replaying_a_trace_is_deterministic(cfg: Config, trace: list[dict[str, Any]]) -> None:
    first, one = replay(cfg, trace)
    second, two = replay(cfg, trace)
    assert first == second
    assert one.exposures == two.exposures
    assert one.dropped == two.dropped


@pytest.mark.timeout(120)  # a deadline that never advances would hang, not fail
@SETTINGS
@given(configs, traces(), st.data())
def test_extra_advance_calls_change_nothing(
    cfg: Config, trace: list[dict[str, Any]], data: st.DataObject
) -> None:
    expected, _ = replay(cfg, trace)
    engine = Engine(cfg)
    got: list[Decision] = []
    previous = 0.0
    for obj in trace:
        t = obj["t"]
        if t >= previous:
            fractions = data.draw(st.lists(st.floats(0, 1), max_size=3).map(sorted))
            for f in fractions:
                got += engine.advance(previous + f * (t - previous))
            if data.draw(st.booleans()):  # as the worker's timer would, deadline by deadline
                while (deadline := engine.next_deadline()) is not None and deadline <= t:
                    got += engine.advance(deadline)
            previous = t
        got += engine.feed_json(obj)
    got += engine.advance(end_of(trace))
    assert got == expected
