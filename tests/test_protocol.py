"""protocol.Session on CPython, with fake time: messages in, messages out."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from pytrigger.aggregates import check_report
from pytrigger.decisions import Decision
from pytrigger.protocol import Session, action_json, decision_json, package_version
from pytrigger.toast_style import TOAST_STYLE
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
    (ready,) = out
    assert ready["type"] == "ready" and ready["version"] == package_version()
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


def test_ready_carries_the_toasts_stylesheet() -> None:
    (ready,) = Session().handle({"type": "init", "now": 0.0, "config": DWELL})
    assert ready["style"] == TOAST_STYLE  # the shim carries no CSS of its own
    assert ready["style"].startswith(":where(.pytrigger-toast){position:fixed;")


def test_a_held_enter_behind_a_tick_counts_from_its_own_time() -> None:
    session = Session()
    (ready,) = session.handle({"type": "init", "now": 0.0, "config": DWELL})
    assert ready["holds"] == {"card": 400.0}  # 500 ms of dwell less the margin
    session.handle({"type": "events", "replay": True, "now": 10.0, "events": []})
    session.handle({"type": "tick", "now": 300.0})
    # the page held the enter at 150 (it may, for 400 ms) and sent it at 420
    out = session.handle(
        {
            "type": "events",
            "now": 420.0,
            "events": [{"t": 150.0, "type": "pointerenter", "targets": ["card"]}],
        }
    )
    assert decisions(out) == []
    assert of_type(out, "deadline") == [{"type": "deadline", "at": 650.0}]
    out = session.handle({"type": "tick", "now": 650.0})
    assert decisions(out) == [(650.0, "card", "fire", False)]
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


# -- reports (DESIGN.md §7) ----------------------------------------------------

HOUR_MS = 3_600_000.0
SHARE = {"collector": "/v1/aggregates", "site": "demo-key", "consent": "granted"}


def sharing(config: dict[str, Any] = DWELL, **init: Any) -> Session:
    """A session whose init allows sharing (unless ``init`` says otherwise)."""
    session = Session(random.Random(7))
    message = {"type": "init", "now": 3000.0, "config": config, "timeOrigin": 480_000 * HOUR_MS}
    out = session.handle({**message, **SHARE, **init})
    assert of_type(out, "ready")
    return session


def reports(out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["report"] for m in of_type(out, "report")]


def test_the_replay_sends_the_first_report_even_with_no_activity() -> None:
    session = sharing()
    out = session.handle({"type": "events", "replay": True, "now": 3100.0, "events": []})
    (report,) = reports(out)
    assert report["seq"] == 0 and report["site"] == "demo-key"
    assert report["hour"] == 480_000 and report["triggers"] == []
    assert check_report(report) == []


def test_each_change_is_a_new_snapshot_under_one_id() -> None:
    session = sharing()
    first = reports(session.handle({"type": "events", "replay": True, "now": 3100.0,
                                    "events": []}))  # fmt: skip
    enter = {"t": 3200.0, "type": "pointerenter", "targets": ["card"]}
    out = session.handle({"type": "events", "now": 3200.0, "events": [enter]})
    assert reports(out) == []  # nothing counted yet: the dwell has not reached 500 ms
    out = session.handle({"type": "tick", "now": 3700.0})
    (fired,) = reports(out)
    assert fired["report_id"] == first[0]["report_id"] and fired["seq"] == 1
    (entry,) = fired["triggers"]
    assert entry["exposure"] == 1 and entry["fire"] == 1
    out = session.handle(
        {"type": "latency", "now": 3701.0, "trigger": "card", "variant": None, "ms": 3.5,
         "replayed": False}
    )  # fmt: skip
    (measured,) = reports(out)
    assert measured["seq"] == 2 and sum(measured["triggers"][0]["latency"]) == 1
    out = session.handle({"type": "goal", "now": 3800.0, "name": "signup"})
    assert reports(out)[0]["triggers"][0]["goal"] == 1
    assert reports(session.handle({"type": "tick", "now": 3900.0})) == []  # nothing changed
    for report in (fired, measured):
        assert check_report(report) == []


def test_a_replayed_latency_is_left_out_and_a_malformed_one_dropped() -> None:
    session = sharing()
    session.handle({"type": "events", "replay": True, "now": 3100.0, "events": []})
    session.handle({"type": "latency", "now": 3200.0, "trigger": "card", "variant": None,
                    "ms": 2.0, "replayed": True})  # fmt: skip
    session.handle({"type": "latency", "now": 3200.0, "trigger": "card", "ms": "fast"})
    assert session.stats()["dropped"] == {"latency: malformed": 1}
    report = session.stats()["report"]
    assert report["triggers"] == []  # the replayed latency counted nowhere


@pytest.mark.parametrize(
    "init",
    [
        {"consent": "opt-in"},  # no consent yet
        {"gpc": True},  # Global Privacy Control / Do Not Track
        {"collector": None},  # nowhere to send
        {"site": None},
        {"site": "not a key!"},
    ],
)
def test_no_report_message_without_sharing(init: dict[str, Any]) -> None:
    session = sharing(**init)
    enter = {"t": 3050.0, "type": "pointerenter", "targets": ["card"]}
    out = session.handle({"type": "events", "replay": True, "now": 3100.0, "events": [enter]})
    out += session.handle({"type": "tick", "now": 3600.0})
    out += session.handle({"type": "goal", "now": 3700.0, "name": "x"})
    assert of_type(out, "report") == [] and not session.sharing
    # stats() still shows the report exactly as it would be
    assert session.stats()["report"]["triggers"][0]["fire"] == 1


def test_consent_starts_and_revocation_stops_the_reports() -> None:
    session = sharing(consent="opt-in")
    session.handle({"type": "events", "replay": True, "now": 3100.0, "events": []})
    out = session.handle({"type": "consent", "now": 3200.0, "granted": True})
    (report,) = reports(out)
    assert report["seq"] == 0  # the report as it stands, at once
    out = session.handle({"type": "consent", "now": 3300.0, "granted": False})
    out += session.handle({"type": "goal", "now": 3400.0, "name": "x"})
    assert reports(out) == []
    assert of_type(out, "consent") == [{"type": "consent", "granted": False}]


def test_gpc_wins_over_a_later_grant() -> None:
    session = sharing(consent="opt-in", gpc=True)
    session.handle({"type": "events", "replay": True, "now": 3100.0, "events": []})
    assert reports(session.handle({"type": "consent", "now": 3200.0, "granted": True})) == []


def test_ldp_reports_are_bits_only() -> None:
    config = {**DWELL, "privacy": {"mode": "ldp", "epsilon": 1.0986}}
    session = sharing(config)
    (report,) = reports(session.handle({"type": "events", "replay": True, "now": 3100.0,
                                        "events": []}))  # fmt: skip
    assert report["privacy"]["mode"] == "ldp"
    assert check_report(report) == []
    (entry,) = report["triggers"]
    assert all(v in (0, 1) for k, v in entry.items() if k not in ("trigger", "arm", "latency",
                                                                  "suppressed"))  # fmt: skip


def test_a_consent_event_from_the_shim_starts_the_reports() -> None:
    session = sharing(consent="opt-in")
    grant = {"t": 3050.0, "type": "consent", "state": True}
    out = session.handle({"type": "events", "replay": True, "now": 3100.0, "events": [grant]})
    assert [r["seq"] for r in reports(out)] == [0]
    revoke = {"t": 3200.0, "type": "consent", "state": False}
    out = session.handle({"type": "events", "now": 3200.0, "events": [revoke]})
    assert reports(out) == [] and not session.sharing


# -- local state (pytrigger.segments) -----------------------------------------


def test_the_next_local_state_goes_out_with_consent_only() -> None:
    stored = {"sessions": 6, "typing_rate": 6.0, "context": {"pointer": "mouse"}}
    session = sharing(state=stored)
    assert session.engine is not None and session.engine.segment == "power"
    out = session.handle({"type": "events", "replay": True, "now": 3100.0, "events": []})
    (state,) = [m["state"] for m in of_type(out, "state")]
    assert state["sessions"] == 7 and state["typing_rate"] == 6.0
    assert "context" not in state  # the device is read live, never stored
    out = session.handle({"type": "dismiss", "now": 3200.0, "trigger": "card"})
    (state,) = [m["state"] for m in of_type(out, "state")]
    assert state["dismissals"] == {"card": 1}
    assert reports(out)[-1]["segment"] == "power"

    session = sharing(consent="opt-in", state=stored)
    out = session.handle({"type": "events", "replay": True, "now": 3100.0, "events": []})
    out += session.handle({"type": "dismiss", "now": 3200.0, "trigger": "card"})
    assert of_type(out, "state") == []


@pytest.mark.parametrize(
    ("when", "extra", "continuous"),
    [
        ({"signal": "dwell_ms", "gte": 500}, {}, []),
        ({"signal": "idle_ms", "gte": 500}, {}, ["pointermove", "scroll"]),
        ({"signal": "exit_intent", "eq": 1}, {}, ["pointermove"]),
        ({"signal": "scroll_depth", "gte": 0.5}, {}, ["scroll"]),
        ({"signal": "dwell_ms", "gte": 500}, {"suppress_when": ["dragging"]}, ["pointermove"]),
        ({"signal": "dwell_ms", "gte": 500},
         {"gate": {"confirm": ["scroll", "click"], "within_ms": 1000}}, ["scroll"]),
    ],
)  # fmt: skip
def test_ready_names_the_continuous_events_the_engine_can_use(
    when: dict[str, Any], extra: dict[str, Any], continuous: list[str]
) -> None:
    config = {"version": 1, "triggers": [{"id": "c", "target": ".c", "when": when, **extra}]}
    out = Session().handle({"type": "init", "now": 1.0, "config": config})
    assert out[0]["continuous"] == continuous


@pytest.mark.parametrize(
    ("when", "extra", "moves"),
    [
        ({"signal": "dwell_ms", "gte": 500}, {}, {}),
        ({"signal": "idle_ms", "gte": 500}, {}, {"all": True}),
        ({"signal": "exit_intent", "eq": 1}, {}, {"leave": True}),
        ({"signal": "scroll_depth", "gte": 0.5}, {}, {}),
        ({"signal": "dwell_ms", "gte": 500}, {"suppress_when": ["dragging"]}, {"pressed": True}),
        ({"signal": "dwell_ms", "gte": 500},
         {"gate": {"confirm": ["scroll", "click"], "within_ms": 1000}}, {}),
        ({"signal": "dwell_ms", "gte": 500},
         {"gate": {"confirm": ["pointermove"], "within_ms": 1000}}, {"gates": ["c"]}),
    ],
)  # fmt: skip
def test_ready_names_the_pointer_moves_the_engine_can_use(
    when: dict[str, Any], extra: dict[str, Any], moves: dict[str, Any]
) -> None:
    config = {"version": 1, "triggers": [{"id": "c", "target": ".c", "when": when, **extra}]}
    out = Session().handle({"type": "init", "now": 1.0, "config": config})
    assert out[0]["moves"] == {"all": False, "pressed": False, "leave": False, "gates": [], **moves}


@pytest.mark.parametrize(
    ("when", "extra", "needed"),
    [
        ({"signal": "dwell_ms", "gte": 500}, {}, False),
        ({"signal": "dwell_ms", "gte": 500}, {"suppress_when": ["selecting_text"]}, True),
        ({"signal": "dwell_ms", "gte": 500}, {"suppress_when": ["dragging", "hidden"]}, False),
        ({"signal": "idle_ms", "gte": 500}, {}, True),
        ({"signal": "dwell_ms", "gte": 500},
         {"gate": {"confirm": ["selection"], "within_ms": 1000}}, True),
    ],
)  # fmt: skip
def test_ready_says_whether_selection_events_can_count(
    when: dict[str, Any], extra: dict[str, Any], needed: bool
) -> None:
    config = {"version": 1, "triggers": [{"id": "c", "target": ".c", "when": when, **extra}]}
    out = Session().handle({"type": "init", "now": 1.0, "config": config})
    assert out[0]["selection"] is needed
