"""protocol.Session on CPython, with fake time: messages in, messages out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytrigger.decisions import Decision
from pytrigger.protocol import Session, action_json, decision_json, package_version
from pytrigger.triggers import ClassAction, ShowAction, ToastAction

DWELL = {
    "version": 1,
    "triggers": [
        {
            "id": "card",
            "target": ".card",
            "when": {"signal": "dwell_ms", "gte": 500},
            "cooldown_ms": 1000,
            "action": {"toast": {"title": "<b>Hi</b>", "body": "b", "cta": "Go"}},
        }
    ],
}
GATED = {
    "version": 1,
    "triggers": [
        {
            "id": "q",
            "target": "#q",
            "when": {"signal": "focus_ms", "gte": 1000},
            "gate": {
                "confirm": ["pointermove"],
                "within_ms": 2000,
                "action": {"class": {"add": "hint", "on": "#q"}},
            },
            "action": {"show": "#modal"},
        }
    ],
}


def started(config: dict[str, Any] = DWELL, now: float = 3000.0) -> Session:
    session = Session()
    out = session.handle({"type": "init", "now": now, "config": config, "timeOrigin": 1.0})
    assert out == [{"type": "ready", "version": package_version()}]
    return session


def of_type(out: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in out if m["type"] == kind]


def decisions(out: list[dict[str, Any]]) -> list[tuple[float, str, str, bool]]:
    return [
        (d["t"], d["trigger"], d["kind"], m["replayed"])
        for m in of_type(out, "decisions")
        for d in m["decisions"]
    ]


def test_ready_then_replay_of_boot_events_is_flagged_replayed() -> None:
    session = started()
    out = session.handle(
        {
            "type": "events",
            "replay": True,
            "now": 3000.0,
            "events": [
                {"t": 10.0, "type": "context", "pointer": "mouse", "viewport_w": 1280},
                {"t": 200.0, "type": "pointerenter", "targets": ["card"]},
            ],
        }
    )
    # the dwell crossed 500 ms during the boot: decided at its own moment, flagged
    assert decisions(out) == [(700.0, "card", "fire", True)]
    fire = of_type(out, "decisions")[0]["decisions"][0]
    assert fire["action"] == {"toast": {"title": "<b>Hi</b>", "body": "b", "cta": "Go"}}
    assert fire["reason"] is None and fire["variant"] is None and fire["segment"] is None
    # the clock starts once the boot's events are in: the deadline comes last
    # (the cool-down ended at 1700, during the boot: nothing is due any more)
    assert out[-1] == {"type": "deadline", "at": None}


def test_live_events_and_ticks_decide_at_the_deadline() -> None:
    session = started()
    assert session.handle({"type": "events", "replay": True, "now": 3000.0, "events": []}) == [
        {"type": "deadline", "at": None}
    ]
    out = session.handle(
        {
            "type": "events",
            "now": 3101.0,
            "events": [{"t": 3100.0, "type": "pointerenter", "targets": ["card"]}],
        }
    )
    assert out == [{"type": "deadline", "at": 3600.0}]
    out = session.handle({"type": "tick", "now": 3604.5})
    assert decisions(out) == [(3600.0, "card", "fire", False)]
    assert of_type(out, "deadline") == [{"type": "deadline", "at": 4600.0}]
    # an unchanged deadline is not repeated
    assert session.handle({"type": "tick", "now": 3700.0}) == []


def test_ticks_before_the_replay_are_ignored() -> None:
    session = started()
    assert session.handle({"type": "tick", "now": 5000.0}) == []
    out = session.handle(
        {
            "type": "events",
            "replay": True,
            "now": 5000.0,
            "events": [{"t": 100.0, "type": "pointerenter", "targets": ["card"]}],
        }
    )
    assert decisions(out) == [(600.0, "card", "fire", True)]


def test_gate_then_confirm_then_fire_with_actions() -> None:
    session = started(GATED)
    session.handle({"type": "events", "replay": True, "now": 100.0, "events": []})
    session.handle(
        {
            "type": "events",
            "now": 200.0,
            "events": [{"t": 200.0, "type": "focus", "targets": ["q"]}],
        }
    )
    out = session.handle({"type": "tick", "now": 1200.0})
    assert decisions(out) == [(1200.0, "q", "gate", False)]
    gate = of_type(out, "decisions")[0]["decisions"][0]
    assert gate["action"] == {"class": {"add": "hint", "on": "#q"}}
    (deadline,) = of_type(out, "deadline")
    assert 1200.0 <= deadline["at"] <= 3200.0  # at the latest, the gate's window end
    out = session.handle(
        {
            "type": "events",
            "now": 1500.0,
            "events": [{"t": 1500.0, "type": "pointermove", "x": 1, "y": 2}],
        }
    )
    assert decisions(out) == [(1500.0, "q", "fire", False)]
    assert of_type(out, "decisions")[0]["decisions"][0]["action"] == {"show": "#modal"}


def test_gate_expires_without_confirmation() -> None:
    session = started(GATED)
    session.handle(
        {
            "type": "events",
            "replay": True,
            "now": 100.0,
            "events": [{"t": 50.0, "type": "focus", "targets": ["q"]}],
        }
    )
    session.handle({"type": "tick", "now": 1050.0})
    out = session.handle({"type": "tick", "now": 3050.0})
    assert decisions(out) == [(3050.0, "q", "expire", False)]


def test_an_event_in_flight_behind_a_tick_is_handled_at_the_clock() -> None:
    session = started(GATED)
    session.handle(
        {
            "type": "events",
            "replay": True,
            "now": 100.0,
            "events": [{"t": 50.0, "type": "focus", "targets": ["q"]}],
        }
    )
    session.handle({"type": "tick", "now": 1060.0})  # gate at 1050, clock at 1060
    # stamped 1055 on the page, posted before the tick but handled after it
    out = session.handle(
        {
            "type": "events",
            "now": 1061.0,
            "events": [{"t": 1055.0, "type": "pointermove", "x": 0, "y": 0}],
        }
    )
    assert decisions(out) == [(1060.0, "q", "fire", False)]
    assert session.dropped == {}


def test_malformed_input_is_dropped_and_counted_never_raised() -> None:
    session = started()
    session.handle(
        {
            "type": "events",
            "replay": True,
            "now": 100.0,
            "events": [
                {"t": 10.0, "type": "keydown", "key": "a"},  # a key value, not a class
                {"t": 20.0, "type": "warp"},  # unknown type
                {"t": 30.0, "type": "click"},  # no x, y
                "not an object",
                {"t": 50.0, "type": "pointermove", "x": 1, "y": 1},
                {"t": 40.0, "type": "pointermove", "x": 1, "y": 1},  # t goes backwards
            ],
        }
    )
    bad: object
    for bad in (
        None,
        [],
        {"type": "events"},
        {"type": "events", "now": -1},
        {"type": "events", "now": 200.0, "events": "x"},
        {"type": "nope", "now": 200.0},
        {"type": "init", "now": 1.0, "config": DWELL},
    ):
        assert session.handle(bad) == []
    stats = session.stats()
    assert stats["dropped"] == {
        "events: expected a list": 1,
        "init: repeated": 1,
        "key": 1,
        "message: expected an object": 2,
        "message: now missing": 2,
        "message: unknown type": 1,
        "t": 1,
        "type": 1,
        "x": 1,
        "expected a JSON object": 1,
    }


def test_invalid_config_is_an_error_with_its_path_and_the_session_goes_inert() -> None:
    session = Session()
    bad = {
        "version": 1,
        "triggers": [{"id": "x", "when": {"all": [{"signal": "idle_ms", "gte": "2"}]}}],
    }
    out = session.handle({"type": "init", "now": 1.0, "config": bad})
    assert out == [
        {
            "type": "error",
            "message": "triggers[0].when.all[0].gte: expected a number",
            "path": "triggers[0].when.all[0].gte",
        }
    ]
    assert session.handle({"type": "events", "replay": True, "now": 2.0, "events": []}) == []
    assert session.handle({"type": "stats", "id": 1, "now": 2.0}) == []


def test_every_problem_is_in_the_message_the_first_path_in_path() -> None:
    session = Session()
    bad = {
        "version": 1,
        "triggers": [{"id": "x", "whne": 1, "when": {"signal": "dwell_ms", "gte": 1}}],
    }
    (error,) = session.handle({"type": "init", "now": 1.0, "config": bad})
    assert error["type"] == "error"
    assert error["path"] == "triggers[0].whne"
    assert len(error["message"].splitlines()) == 2


def test_messages_before_init_are_dropped() -> None:
    session = Session()
    assert session.handle({"type": "tick", "now": 1.0}) == []
    assert session.dropped == {"message: before init": 1}


def test_api_calls_become_events_in_order_and_count() -> None:
    session = started()
    # before the replay: kept, then applied after the boot's events
    assert session.handle({"type": "goal", "name": "signup", "now": 3000.0}) == []
    out = session.handle(
        {
            "type": "events",
            "replay": True,
            "now": 3000.0,
            "events": [{"t": 100.0, "type": "pointerenter", "targets": ["card"]}],
        }
    )
    assert decisions(out) == [(600.0, "card", "fire", True)]
    out = session.handle({"type": "dismiss", "trigger": "card", "now": 3100.0})
    assert of_type(out, "deadline")  # the dismissal restarted the cool-down
    out = session.handle({"type": "consent", "granted": True, "now": 3200.0})
    assert {"type": "consent", "granted": True} in out
    (reply,) = session.handle({"type": "stats", "id": 7, "now": 3300.0})
    assert reply["type"] == "stats" and reply["id"] == 7
    assert reply["stats"]["goals"] == {"signup": 1}
    (card,) = reply["stats"]["triggers"]
    assert card == {"trigger": "card", "variant": None, "suppressed": {}, "fire": 1, "dismiss": 1}
    json.dumps(reply)  # everything sent is JSON


def test_suppressed_decisions_are_counted_by_reason() -> None:
    session = started()
    session.handle({"type": "events", "replay": True, "now": 100.0, "events": []})
    t = 100.0
    for _ in range(2):  # enter, dwell, leave — twice within the cool-down
        session.handle(
            {
                "type": "events",
                "now": t,
                "events": [{"t": t, "type": "pointerenter", "targets": ["card"]}],
            }
        )
        session.handle({"type": "tick", "now": t + 600})
        session.handle(
            {
                "type": "events",
                "now": t + 650,
                "events": [{"t": t + 650, "type": "pointerleave", "targets": ["card"]}],
            }
        )
        t += 700
    (card,) = session.stats()["triggers"]
    assert card["fire"] == 1 and card["suppressed"] == {"cooldown": 1}


def test_shim_buffer_drops_are_reported() -> None:
    session = Session()
    session.handle(
        {
            "type": "init",
            "now": 1.0,
            "config": DWELL,
            "dropped": {"pointermove": 3, "scroll": 0, "bad": "x"},
        }
    )
    assert session.stats()["dropped"] == {"buffer: pointermove": 3}


def test_buffer_drops_can_come_with_the_replay() -> None:
    session = started()
    session.handle(
        {"type": "events", "replay": True, "now": 1.0, "events": [], "dropped": {"scroll": 2}}
    )
    assert session.stats()["dropped"] == {"buffer: scroll": 2}


def test_replay_must_come_first_and_once() -> None:
    session = started()
    assert session.handle({"type": "events", "now": 1.0, "events": []}) == []
    session.handle({"type": "events", "replay": True, "now": 1.0, "events": []})
    assert session.handle({"type": "events", "replay": True, "now": 2.0, "events": []}) == []
    assert session.dropped["events: replay out of order"] == 2


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (ShowAction("#m"), {"show": "#m"}),
        (ClassAction("a", "#b"), {"class": {"add": "a", "on": "#b"}}),
        (ToastAction("t"), {"toast": {"title": "t", "body": "", "cta": None}}),
        (None, None),
    ],
)
def test_action_json(action: Any, expected: Any) -> None:
    assert action_json(action) == expected


def test_decision_json_has_every_field() -> None:
    decision = Decision(5.0, "x", "suppressed", reason="hidden")
    assert decision_json(decision) == {
        "t": 5.0,
        "trigger": "x",
        "kind": "suppressed",
        "reason": "hidden",
        "variant": None,
        "segment": None,
        "action": None,
    }


def test_the_core_runs_without_js() -> None:
    import sys

    assert "js" not in sys.modules and "pyodide" not in sys.modules


def test_a_replay_in_parts_answers_stats_in_order() -> None:
    session = started()
    first = {"t": 100.0, "type": "goal", "name": "early"}
    out = session.handle(
        {
            "type": "events",
            "replay": True,
            "final": False,
            "until": 120.0,
            "now": 3000.0,
            "events": [first, {"t": 110.0, "type": "pointerenter", "targets": ["card"]}],
        }
    )
    assert of_type(out, "deadline") == []  # the replay is not over
    (reply,) = session.handle({"type": "stats", "id": 1, "now": 3000.0})
    assert reply["stats"]["goals"] == {"early": 1}
    assert reply["stats"]["triggers"] == []  # the dwell reached 500 ms after the call
    out = session.handle(
        {
            "type": "events",
            "replay": True,
            "now": 3000.0,
            "events": [{"t": 130.0, "type": "goal", "name": "late"}],
        }
    )
    assert decisions(out) == [(610.0, "card", "fire", True)]
    assert of_type(out, "deadline") == [{"type": "deadline", "at": None}]
    assert session.stats()["goals"] == {"early": 1, "late": 1}
    assert session.state == "live"
