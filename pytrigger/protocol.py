"""The messages between the shim (``web/pytrigger.js``) and the engine, sans-IO.

:class:`Session` is h11-shaped: a message (a decoded JSON object) goes in,
the messages to send back come out.  It reads no clock, keeps no timer and
imports nothing from the browser: the glue (:mod:`pytrigger.worker` in a Web
Worker, :mod:`pytrigger.pyscript` on the page) stamps every message with the
page's ``now`` and keeps the one timer the ``deadline`` message asks for.  The
same code runs on CPython (``tests/test_protocol.py``, with fake time) and on
Pyodide.

Theory of operation
-------------------
A session goes through three states::

    new ──init──▶ replaying ──events(replay)──▶ live
     │              │
     └── init with an invalid config ──▶ failed (inert: every message ignored)

* ``init`` carries the config; the session answers ``ready`` (or ``error``).
  The engine's clock does not move yet: the shim still holds the events it
  buffered while the runtime booted, and they are earlier than ``now``.
* The shim answers ``ready`` with one ``events`` message flagged ``replay``:
  the buffered events, oldest first.  Their decisions, and those of the
  deadlines that fell during the boot, go out flagged ``replayed``.  Only
  now does the session report a ``deadline`` (ticks before it are ignored).
  When the page asked for ``stats`` during the boot, the replay comes in
  parts, each but the last with ``"final": false`` and ``"until": t`` (the
  moment of the call, handled up to there), each followed by its ``stats``
  request: the answers see exactly the calls made before them.
* Live: ``events`` (discrete ones at once, continuous ones once a frame) and
  ``tick`` (the glue's timer reached the deadline).  An event that comes in
  after a tick already moved the clock past its ``t`` (it was in flight) is
  handled at the clock's time, but for a ``pointerenter`` or ``pointerleave``,
  which the page may hold (ready's ``holds``) and the engine takes late
  (:meth:`~pytrigger.engine.Engine.feed`: its dwell counts from its ``t``);
  one whose ``t`` is before the previous event's is malformed (the shim keeps
  ``t`` non-decreasing), dropped and counted, exactly as ``pytrigger simulate``
  skips such a line.

Messages in (each with ``now``, page ms)::

    {"type": "init", "config": {...}, "unitId": "u1" | null, "dropped": 0, ...}
    {"type": "events", "events": [<trace format v1>...], "replay": false}
                 # the replay also carries the shim's buffer drops: "dropped": {"pointermove": 3}
                 # and, when in parts, "final": false and "until": t on all but the last
    {"type": "tick"}
    {"type": "dismiss", "trigger": "id"}          # = an event {"type": "dismiss", "name": id}
    {"type": "goal", "name": "signup"}            # = an event {"type": "goal", "name": ...}
    {"type": "consent", "granted": true}          # = an event {"type": "consent", "state": ...}
    {"type": "stats", "id": 3}
    {"type": "latency", "trigger": "id", "variant": null, "ms": 4.2, "replayed": false}
                 # the shim measured a fire's latency (decision to action applied)

Messages out::

    {"type": "ready", "version": "0.1.0", "continuous": ["scroll"],
     "moves": {"all": false, "pressed": false, "leave": true, "gates": []},
     "holds": {"card": 400.0, "buy": null}, "leaves": {"card": 500.0, "buy": 0.0},
     "selection": false, "style": ":where(.pytrigger-toast){..."}
                 # the continuous event types the engine can use: the shim drops the others;
                 # and which pointer moves: every one, or only the first with a pointer
                 # held down, the first after leaving the page, the first while one of
                 # these triggers' gates is open (Engine.move_needs); how long an
                 # enter (and the leave after it) on each trigger's target may wait
                 # before it is sent, null: until something else is sent, absent: not
                 # at all (Engine.hold_needs); which leaves may wait once the dwell
                 # passed so many ms, though their enter was sent (Engine.leave_holds);
                 # whether selection events can count (Engine.selection_needed); and
                 # the toasts' stylesheet (pytrigger/toast_style.py: the shim has none)
    {"type": "error", "message": "triggers[0].when: missing", "path": "triggers[0].when"}
    {"type": "decisions", "replayed": false, "decisions": [
        {"t": 812.5, "trigger": "card", "kind": "fire", "reason": null,
         "variant": null, "segment": null, "action": {"show": "#reco"}}]}
    {"type": "deadline", "at": 1300.0 | null}      # for the glue's timer
    {"type": "consent", "granted": true}           # acknowledged, in order
    {"type": "stats", "id": 3, "stats": {...}}    # "report": exactly what would be sent
    {"type": "report", "report": {...}}            # a new snapshot of this session's report
    {"type": "state", "state": {...}}              # the visitor's next local state (consent only)

Reports (DESIGN.md §7).  The session keeps the page session's aggregates in an
:class:`~pytrigger.aggregates.AggregateBuilder` and, while sharing is allowed —
``init`` named a ``collector`` and a valid ``site`` key, no ``gpc`` (Global
Privacy Control or Do Not Track), and consent (``"consent": "granted"`` in
``init``, or a ``consent`` message granting it) — answers every message that
changed them with a ``report`` message: the whole report as of now, under the
session's one report id, with ``seq`` one higher than the last.  The first
goes out with the replay, so every page session has one.  The shim keeps the
newest and decides when to send it (every 5 minutes and at ``pagehide``); the
collector keeps the highest ``seq`` of each id.  Without sharing no report
message is ever built; ``stats`` still shows the report as it would be.

Local state (:mod:`pytrigger.segments`).  ``init`` may carry ``state``, the
visitor's local state (what the shim stored with consent, plus this page's
device ``context``); it decides the session's segment and adaptation.  With
consent, the session answers with a ``state`` message — the state the next page
session should start from — at the replay and whenever it changes in a way
worth keeping (a dismissal, a longer rage streak or hesitation, a field left,
the tab hidden); the shim stores it.  Without consent none is sent.

>>> session = Session()
>>> session.handle({"type": "init", "now": 900.0, "config": {"version": 1, "triggers": [
...     {"id": "card", "target": ".card", "when": {"signal": "dwell_ms", "gte": 500}}]}})
... # doctest: +ELLIPSIS
[{'type': 'ready', 'version': '...', 'continuous': [], 'moves': {...}, 'holds': {...}, ...}]
>>> out = session.handle({"type": "events", "replay": True, "now": 1000.0, "events": [
...     {"t": 100.0, "type": "pointerenter", "targets": ["card"]}]})
>>> [(m["type"], m.get("replayed")) for m in out]
[('decisions', True), ('deadline', None)]
>>> out[0]["decisions"][0]["t"], out[1]["at"]
(600.0, 30600.0)
"""

from __future__ import annotations

import functools
import math
import random
from collections import Counter
from importlib import metadata
from typing import Any, Literal

from pytrigger.aggregates import (
    MAX_SEQ,
    SITE_RE,
    AggregateBuilder,
    check_report,
    report_entries,
    segment_names,
)
from pytrigger.config import load_config
from pytrigger.decisions import Decision
from pytrigger.engine import LATE_TYPES, Engine
from pytrigger.errors import ConfigError, EventError
from pytrigger.events import parse_event
from pytrigger.segments import SessionHistory
from pytrigger.toast_style import TOAST_STYLE
from pytrigger.triggers import Action, ClassAction, ShowAction, ToastAction

__all__ = ["Session", "action_json", "decision_json", "package_version"]

Message = dict[str, Any]
State = Literal["new", "replaying", "live", "failed"]

#: API calls that are events of the trace format: message field -> event field
_API_EVENTS: dict[str, tuple[str, str]] = {
    "dismiss": ("trigger", "name"),
    "goal": ("name", "name"),
    "consent": ("granted", "state"),
}


@functools.cache
def package_version() -> str:
    """The installed pytrigger's version (the wheel's, in the browser).

    Read once: a memory snapshot made with pytrigger imported reads it at build time,
    and the restored runtime has no dist-info to read (web/make-snapshot.mjs)."""
    try:
        return metadata.version("pytrigger")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def action_json(action: Action | None) -> dict[str, Any] | None:
    """An action as the shim applies it.

    >>> action_json(ClassAction(add="glow", on=".card"))
    {'class': {'add': 'glow', 'on': '.card'}}
    """
    if action is None:
        return None
    if isinstance(action, ShowAction):
        return {"show": action.selector}
    if isinstance(action, ClassAction):
        return {"class": {"add": action.add, "on": action.on}}
    if isinstance(action, ToastAction):
        return {"toast": {"title": action.title, "body": action.body, "cta": action.cta}}
    raise TypeError(f"not an action: {action!r}")


def decision_json(decision: Decision) -> dict[str, Any]:
    """One decision as the shim receives it (every field present)."""
    return {
        "t": decision.t,
        "trigger": decision.trigger,
        "kind": decision.kind,
        "reason": decision.reason,
        "variant": decision.variant,
        "segment": decision.segment,
        "action": action_json(decision.action),
    }


class Session:
    """One page session's engine behind the shim's message protocol.

    ``handle`` never raises on what the page sends: a malformed message or
    event is dropped and counted in :attr:`dropped` (by reason)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.state: State = "new"
        self.engine: Engine | None = None
        #: the report ids and, in ``ldp`` mode, the randomization come from here
        self.rng = rng if rng is not None else random.SystemRandom()
        #: this page session's aggregates (None before init, or when the config
        #: cannot be reported: see :meth:`_init`)
        self.aggregates: AggregateBuilder | None = None
        self._share_possible = False  # a collector, a valid site key, no GPC/DNT
        self._consented = False
        self._time_origin = 0.0  # the page's performance.timeOrigin (epoch ms)
        self._seq = -1  # the last report snapshot's seq
        self._changed = False  # the aggregates changed since the last snapshot
        self._exposures_seen = 0
        #: this session's contribution to the visitor's local state
        self.history: SessionHistory | None = None
        self._state_changed = False
        #: what was dropped, by reason (the shim's own buffer drops included)
        self.dropped: Counter[str] = Counter()
        #: decisions sent, by (trigger, variant, kind or "suppressed:<reason>")
        self.counts: Counter[tuple[str, str | None, str]] = Counter()
        self.goals: Counter[str] = Counter()
        self._clock = 0.0  # the engine's time: last event or tick handled
        self._last_event_t: float | None = None
        self._deadline: float | None = None
        self._deadline_sent = False
        self._early: list[Message] = []

    # -- the one entry point -----------------------------------------------
    def handle(self, message: object) -> list[Message]:
        """Handle one message from the shim; return the messages to send back."""
        if not isinstance(message, dict):
            self.dropped["message: expected an object"] += 1
            return []
        kind = message.get("type")
        now = message.get("now")
        if not _is_time(now):
            self.dropped["message: now missing"] += 1
            return []
        assert isinstance(now, int | float)
        now = float(now)
        if self.state == "failed":
            return []
        if kind == "init":
            return self._init(message, now)
        if self.state == "new":
            self.dropped["message: before init"] += 1
            return []
        if kind == "stats":
            return [{"type": "stats", "id": message.get("id"), "stats": self.stats(now)}]
        out: list[Message] = []
        if kind == "events":
            events = message.get("events")
            if not isinstance(events, list):
                self.dropped["events: expected a list"] += 1
                return []
            replay = self.state == "replaying"
            if replay != bool(message.get("replay")):
                # the batches right after init are the replay, and only those
                self.dropped["events: replay out of order"] += 1
                return []
            final = not replay or message.get("final", True) is not False
            until = message.get("until")
            if not final and isinstance(until, int | float) and _is_time(until):
                now = min(now, float(until))  # a part of the replay: up to its end
            elif not final:
                now = self._clock
            self._emit(self._feed(events, now), replay, out)
            if replay:
                for reason, count in _dropped_by_shim(message.get("dropped")).items():
                    self.dropped[reason] += count
            if replay and final:
                self.state = "live"
                for early in self._early:  # API calls that came before the replay
                    out.extend(self.handle(early))
                self._early.clear()
        elif kind == "tick":
            if self.state != "live":
                return []  # the clock starts once the boot's events are in
            self._emit(self._advance(now), False, out)
        elif kind == "latency":
            self._latency(message)
        elif isinstance(kind, str) and kind in _API_EVENTS:
            if self.state == "replaying":
                self._early.append(message)  # after the boot's events, in order
                return []
            field, event_field = _API_EVENTS[kind]
            event = {"type": kind, "t": now, event_field: message.get(field)}
            self._emit(self._feed([event], now), False, out)
            if kind == "consent" and isinstance(message.get("granted"), bool):
                out.append({"type": "consent", "granted": message["granted"]})
        else:
            self.dropped["message: unknown type"] += 1
            return []
        self._report_snapshot(out, now)
        self._state_snapshot(out)
        self._report_deadline(out)
        return out

    @property
    def sharing(self) -> bool:
        """Whether reports go to the shim for upload (see the module's doc)."""
        return self._share_possible and self._consented and self.aggregates is not None

    def report(self, now: float) -> dict[str, Any] | None:
        """The report as of page time ``now``, under the last snapshot's
        ``seq`` (0 before the first): exactly what would be sent."""
        if self.aggregates is None:
            return None
        epoch_ms = self._time_origin + now
        return self.aggregates.build(epoch_ms, self.rng, seq=max(self._seq, 0))

    # -- local aggregates --------------------------------------------------
    def stats(self, now: float | None = None) -> dict[str, Any]:
        """Local counts of this page session: per trigger and arm, the
        decisions taken (suppressed ones by reason), dismissals and goals;
        what was dropped; and ``report``, the aggregate report exactly as it
        would be sent (``None`` before init).  Nothing here leaves the page by
        itself."""
        triggers: dict[str, dict[str, Any]] = {}
        for (trigger, variant, kind), count in sorted(
            self.counts.items(), key=lambda item: (item[0][0], item[0][1] or "", item[0][2])
        ):
            key = trigger if variant is None else f"{trigger}:{variant}"
            entry = triggers.setdefault(
                key, {"trigger": trigger, "variant": variant, "suppressed": {}}
            )
            if kind.startswith("suppressed:"):
                entry["suppressed"][kind.split(":", 1)[1]] = count
            else:
                entry[kind] = count
        dropped = Counter(self.dropped)
        if self.engine is not None:
            dropped.update(self.engine.dropped)
        return {
            "triggers": list(triggers.values()),
            "goals": dict(sorted(self.goals.items())),
            "dropped": dict(sorted(dropped.items())),
            "report": self.report(self._clock if now is None else now),
        }

    # -- internals ---------------------------------------------------------
    def _init(self, message: Message, now: float) -> list[Message]:
        if self.state != "new":
            self.dropped["init: repeated"] += 1
            return []
        try:
            config = load_config(message.get("config"))
        except ConfigError as error:
            self.state = "failed"
            return [{"type": "error", "message": str(error), "path": error.path}]
        unit_id = message.get("unitId")
        state = message.get("state")
        self.engine = Engine(
            config,
            unit_id=unit_id if isinstance(unit_id, str) else None,
            state=state if isinstance(state, dict) else None,
        )
        for reason, count in _dropped_by_shim(message.get("dropped")).items():
            self.dropped[reason] += count
        origin = message.get("timeOrigin")
        if _is_time(origin):
            assert isinstance(origin, int | float)
            self._time_origin = float(origin)
        site = message.get("site")
        valid_site = isinstance(site, str) and SITE_RE.fullmatch(site) is not None
        self._share_possible = (
            valid_site and bool(message.get("collector")) and message.get("gpc") is not True
        )
        self._consented = message.get("consent") == "granted"
        try:
            self.aggregates = AggregateBuilder(
                site if isinstance(site, str) and valid_site else "local",
                config.privacy,
                report_entries(config),
                segment_names(config),
            )
        except ValueError as error:  # the config holds more than a report can
            self.dropped[f"aggregates: {error}"] += 1
        self._changed = True  # every page session has a report, activity or not
        self.history = SessionHistory(self.engine.local_state)
        self._state_changed = True  # this session counts, whatever happens in it
        if self.aggregates is not None:
            self.aggregates.set_segment(self.engine.segment)
        self.state = "replaying"
        continuous = sorted(self.engine.continuous_needs())
        moves = self.engine.move_needs()
        return [
            {
                "type": "ready",
                "version": package_version(),
                "continuous": continuous,
                "moves": moves,
                "holds": self.engine.hold_needs(),
                "leaves": self.engine.leave_holds(),
                "selection": self.engine.selection_needed(),
                "style": TOAST_STYLE,
            }
        ]

    def _feed(self, events: list[Any], now: float) -> list[Decision]:
        engine = self.engine
        assert engine is not None
        decisions: list[Decision] = []
        for obj in events:
            try:
                event = parse_event(obj)
            except EventError as error:
                self.dropped[error.reason.split(":", 1)[0]] += 1
                continue
            if self._last_event_t is not None and event.t < self._last_event_t:
                self.dropped["t"] += 1  # goes backwards: malformed, as in simulate
                continue
            self._last_event_t = event.t
            if self.history is not None and self.history.observe(event):
                self._state_changed = True
            if event.t < self._clock:
                if event.type not in LATE_TYPES:
                    # in flight while a tick moved the clock on: handle it now
                    event = _at(event.to_json(), self._clock)
                # else held by the page (ready's "holds"): the engine takes it late
            else:
                self._clock = event.t
            if event.type == "goal" and event.name is not None:
                self.goals[event.name] += 1
                if self.aggregates is not None:
                    self.aggregates.goal(event.name)
                    self._changed = True
            elif event.type == "consent" and isinstance(event.state, bool):
                self._consented = event.state
                self._changed = True  # a grant sends the report as it stands
            elif event.type == "dismiss" and event.name is not None:
                self.counts[(event.name, None, "dismiss")] += 1
                if self.aggregates is not None:
                    self.aggregates.dismiss(event.name)
                    self._changed = True
            decisions.extend(engine.feed(event))
        decisions.extend(self._advance(now))
        return decisions

    def _advance(self, now: float) -> list[Decision]:
        engine = self.engine
        assert engine is not None
        if now < self._clock:
            return []
        self._clock = now
        return engine.advance(now)

    def _emit(self, decisions: list[Decision], replayed: bool, out: list[Message]) -> None:
        self._count_exposures()
        if not decisions:
            return
        for decision in decisions:
            key: str = decision.kind
            if key == "suppressed":
                key = f"suppressed:{decision.reason}"
            self.counts[(decision.trigger, decision.variant, key)] += 1
            if self.aggregates is not None:
                self.aggregates.decision(decision)
                self._changed = True
        out.append(
            {
                "type": "decisions",
                "replayed": replayed,
                "decisions": [decision_json(d) for d in decisions],
            }
        )

    def _count_exposures(self) -> None:
        engine = self.engine
        if engine is None or self.aggregates is None:
            return
        for _, trigger, variant in engine.exposures[self._exposures_seen :]:
            self.aggregates.exposure(trigger, variant)
            self._changed = True
        self._exposures_seen = len(engine.exposures)

    def _latency(self, message: Message) -> None:
        trigger, variant, ms = message.get("trigger"), message.get("variant"), message.get("ms")
        if (
            self.aggregates is None
            or not isinstance(trigger, str)
            or not (variant is None or isinstance(variant, str))
            or not isinstance(ms, int | float)
            or isinstance(ms, bool)
        ):
            self.dropped["latency: malformed"] += 1
            return
        self.aggregates.latency(trigger, variant, float(ms), message.get("replayed") is True)
        self._changed = True

    def _report_snapshot(self, out: list[Message], now: float) -> None:
        if not self._changed or not self.sharing or self.state == "failed":
            return
        if self._seq >= MAX_SEQ:  # a session this long keeps its last snapshot
            return
        self._changed = False
        self._seq += 1
        report = self.report(now)
        assert report is not None
        problems = check_report(report)  # the aggregate-only rule, on this side too
        if problems:  # a bug upstream: never sent
            self.dropped[f"report: {problems[0]}"] += 1
            return
        out.append({"type": "report", "report": report})

    def _state_snapshot(self, out: list[Message]) -> None:
        if not self._state_changed or not self._consented or self.history is None:
            return
        if self.state not in ("replaying", "live"):
            return
        self._state_changed = False
        out.append({"type": "state", "state": self.history.next_state()})

    def _report_deadline(self, out: list[Message]) -> None:
        if self.state != "live" or self.engine is None:
            return
        deadline = self.engine.next_deadline()
        if not self._deadline_sent or deadline != self._deadline:
            self._deadline = deadline
            self._deadline_sent = True
            out.append({"type": "deadline", "at": deadline})


def _is_time(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _at(obj: dict[str, Any], t: float) -> Any:
    """The event ``obj`` re-stamped at ``t`` (already validated: cannot fail)."""
    return parse_event({**obj, "t": t})


def _dropped_by_shim(value: object) -> dict[str, int]:
    """The shim's count of buffer drops (``{"pointermove": 3, ...}``), checked."""
    if not isinstance(value, dict):
        return {}
    return {
        f"buffer: {kind}": count
        for kind, count in value.items()
        if isinstance(kind, str) and isinstance(count, int) and count > 0
    }
