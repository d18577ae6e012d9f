"""The engine: events in, decisions out, deadlines reported (sans-IO).

>>> from pytrigger.config import load_config
>>> config = load_config({"version": 1, "triggers": [{"id": "card", "target": ".card",
...     "when": {"signal": "dwell_ms", "gte": 500}}]})
>>> engine = Engine(config)
>>> engine.feed(Event(100.0, "pointerenter", targets=("card",)))
[]
>>> engine.next_deadline()
600.0
>>> [d.to_json() for d in engine.advance(1000.0)]
[{'t': 600.0, 'trigger': 'card', 'decision': 'fire'}]

The engine never reads a clock, sleeps or touches the DOM: the caller feeds
events carrying their time ``t`` (ms since page start), asks
:meth:`Engine.next_deadline` when it must call back, and calls
:meth:`Engine.advance` then.  Time starts at 0: the first call evaluates every
trigger at t = 0 (a condition already true then counts as becoming true), then
handles what came due since.  At any ``t``, deadlines are handled before an
event of the same ``t``.

Follow one event: :meth:`feed` → deadlines due → signal state updated (page
state, and the target state of each trigger in ``event.targets``) → open gates
confirmed → a ``dismiss`` applied → the triggers whose signals the event can
change are stepped (in config order) → their next deadlines re-filed.  Triggers
are indexed by the event types that can change what they read, so an event
costs nothing for a trigger it cannot affect.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import partial

from pytrigger.conditions import Leaf, leaves
from pytrigger.contexts import PageContexts
from pytrigger.decisions import Decision
from pytrigger.errors import EventError
from pytrigger.evaluation import compile_condition
from pytrigger.events import Event, parse_event
from pytrigger.experiments import assign, effective_trigger
from pytrigger.lifecycle import TriggerLife
from pytrigger.segments import LocalState, adapt_trigger, decide_segment, parse_state
from pytrigger.signals.base import Reader
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
from pytrigger.triggers import EVENT_TYPES, Config, SegmentDef, Trigger

__all__ = ["Engine", "Exposure"]

_INPUT_TYPES = EVENT_TYPES - NON_INPUT_TYPES
#: the event types :meth:`Engine.feed` takes late (see :meth:`Engine.hold_needs`)
LATE_TYPES = frozenset({"pointerenter", "pointerleave"})
#: how long before the earliest dwell threshold a held enter must be sent
HOLD_MARGIN_MS = 100.0
#: a shorter hold is not worth it: the enter is sent at once
MIN_HOLD_MS = 50.0
_INF = float("inf")

#: page-level signal -> the event types that can change it
_PAGE_SIGNAL_EVENTS: dict[str, frozenset[str]] = {
    "idle_ms": _INPUT_TYPES,
    "time_on_page_ms": frozenset(),
    # a pointermove changes exit_intent only while it is 1: handled in _apply
    "exit_intent": frozenset({"leave"}),
    "scroll_velocity": frozenset({"scroll"}),
    "scroll_velocity_ratio": frozenset({"scroll"}),
    "scroll_depth": frozenset({"scroll"}),
    "pointer": frozenset({"context"}),
    "viewport_w": frozenset({"context"}),
}


def _signals(trigger: Trigger) -> frozenset[str]:
    """The signals a trigger's condition reads."""
    return frozenset(leaf.signal for leaf in leaves(trigger.when))


class Exposure(tuple[float, str, str | None]):
    """``(t, trigger, variant)``: the first time in the session a trigger's
    condition became true, whatever the decision (DESIGN.md §6)."""

    __slots__ = ()


class _Target:
    """Signal state measured on one trigger's target."""

    __slots__ = ("dwell", "keys", "rage")

    def __init__(self, trigger: Trigger) -> None:
        pause_lengths: set[float] = set()
        windows: set[float] = set()
        for leaf in leaves(trigger.when):
            if leaf.signal == "pauses":
                pause_lengths.add(leaf.param("pause_ms"))
            elif leaf.signal in ("keystrokes", "keystroke_rate"):
                windows.add(leaf.param("window_ms"))
        self.dwell = DwellState()
        self.keys = KeyState(pause_lengths, windows)
        self.rage = RageState()


class Engine:
    """Runs a :class:`~pytrigger.triggers.Config` over one page session.

    ``unit_id`` is the unit experiments assign on; ``state`` the visitor's
    local state (sessions seen, past dismissals…) used for segments.  Both stay
    on the device."""

    def __init__(
        self,
        config: Config,
        *,
        unit_id: str | None = None,
        state: Mapping[str, object] | None = None,
    ) -> None:
        self.config = config
        self.unit_id = unit_id
        #: malformed input dropped by :meth:`feed_json`, by field at fault
        self.dropped: Counter[str] = Counter()
        #: exposures in order (see :class:`Exposure`)
        self.exposures: list[Exposure] = []
        self._t: float | None = None
        self._idle = IdleState()
        self._exit = ExitState()
        self._device = DeviceState()
        self._contexts = PageContexts()

        #: the local state the session started from (see :mod:`pytrigger.segments`)
        self.local_state: LocalState = parse_state(state)
        self._device.pointer = self.local_state.context.get("pointer")
        self._device.viewport_w = self.local_state.context.get("viewport_w")
        custom_windows = {
            leaf.param("window_ms")
            for segment in config.segments.custom
            for leaf in leaves(segment.when)
            if leaf.signal in ("scroll_velocity", "scroll_velocity_ratio")
        }
        self._scroll = ScrollState(custom_windows)  # for the segments' conditions at t = 0
        #: the visitor's segment for this session, decided once (None: none matched)
        self.segment: str | None = decide_segment(
            config.segments, self.local_state, self._segment_holds
        )
        resolved = [self._resolve(trigger) for trigger in config.triggers]
        windows = {
            leaf.param("window_ms")
            for trigger, _, _ in resolved
            for leaf in leaves(trigger.when)
            if leaf.signal in ("scroll_velocity", "scroll_velocity_ratio")
        }
        self._scroll = ScrollState(windows)
        self._targets: dict[str, _Target] = {}
        self._lives: list[TriggerLife] = []
        self._by_id: dict[str, TriggerLife] = {}
        self._page_index: dict[str, list[int]] = {kind: [] for kind in EVENT_TYPES}
        self._exit_readers: list[int] = []
        for index, (trigger, variant, segment) in enumerate(resolved):
            target = _Target(trigger) if trigger.target is not None else None
            if target is not None:
                self._targets[trigger.id] = target
            node = compile_condition(trigger.when, partial(self._reader, target=target))
            life = TriggerLife(index, trigger, node, self._context_blocks, variant, segment)
            self._lives.append(life)
            self._by_id[trigger.id] = life
            kinds: set[str] = set()
            for name in _signals(trigger):
                kinds |= _PAGE_SIGNAL_EVENTS.get(name, frozenset())
            for kind in kinds:
                self._page_index[kind].append(index)
            if "exit_intent" in _signals(trigger):
                self._exit_readers.append(index)
        self._gated: dict[int, TriggerLife] = {}
        self._heap: list[tuple[float, int, int]] = []
        #: the triggers late boundaries touched, to step at the next feed or advance
        self._late: set[int] = set()

    # -- session set-up ----------------------------------------------------
    def _resolve(self, trigger: Trigger) -> tuple[Trigger, str | None, str | None]:
        """The trigger as this session runs it, with its arm and segment.

        The arm comes from deterministic assignment on ``unit_id`` (no unit id:
        no experiment runs); the arm's override applies first, then the
        segment's, then the visitor's adaptation (:func:`adapt_trigger`).  The
        segment is reported only for a trigger that has segment overrides."""
        arm = None
        if trigger.experiment is not None and self.unit_id:
            arm = assign(trigger.experiment, self.unit_id)
        override = dict(trigger.segments).get(self.segment) if self.segment else None
        resolved = effective_trigger(trigger, arm, override)
        resolved = adapt_trigger(resolved, self.local_state.dismissals.get(trigger.id, 0))
        segment = self.segment if trigger.segments else None
        return resolved, None if arm is None else arm.name, segment

    def _segment_holds(self, segment: SegmentDef) -> bool:
        """Whether a site segment's condition holds at the session's start."""
        node = compile_condition(segment.when, partial(self._reader, target=None))
        return node.eval(0.0) is True

    def _reader(self, leaf: Leaf, target: _Target | None) -> Reader:
        name = leaf.signal
        if SIGNALS[name].level == "target":
            if target is None:  # config validation rules this out
                raise ValueError(f"signal {name!r} needs a target")
            if name == "dwell_ms":
                return DwellMs(target.dwell)
            if name == "focus_ms":
                return FocusMs(target.keys)
            if name == "hesitation_ms":
                return HesitationMs(target.keys)
            if name == "pauses":
                return Pauses(target.keys, leaf.param("pause_ms"))
            if name == "keystrokes":
                return Keystrokes(target.keys, leaf.param("window_ms"))
            if name == "keystroke_rate":
                return KeystrokeRate(target.keys, leaf.param("window_ms"))
            return RageClicks(target.rage)
        page: dict[str, Reader] = {
            "idle_ms": IdleMs(self._idle),
            "time_on_page_ms": TimeOnPage(),
            "exit_intent": ExitIntent(self._exit),
            "scroll_depth": ScrollDepth(self._scroll),
            "pointer": Pointer(self._device),
            "viewport_w": ViewportWidth(self._device),
        }
        if name == "scroll_velocity":
            return ScrollVelocity(self._scroll, leaf.param("window_ms"))
        if name == "scroll_velocity_ratio":
            return ScrollVelocityRatio(self._scroll, leaf.param("window_ms"))
        return page[name]

    def _context_blocks(self, trigger: Trigger, t: float) -> str | None:
        contexts = self._contexts
        for name in trigger.suppress_when:
            if contexts.active(name, trigger.id, trigger.target is not None, t):
                return name
        return None

    # -- public API ----------------------------------------------------------
    def continuous_needs(self) -> frozenset[str]:
        """The continuous event types (``pointermove``, ``scroll``) that can
        change anything for this session's triggers: a page may leave the
        others out (every discrete event still counts).  ``idle_ms`` reads
        every input; ``exit_intent`` ends at a move; ``dragging`` is a pointer
        held down while moving; a gate may be confirmed by either.

        >>> from pytrigger.config import load_config
        >>> config = load_config({"version": 1, "triggers": [
        ...     {"id": "card", "target": ".card", "when": {"signal": "dwell_ms", "gte": 500}}]})
        >>> sorted(Engine(config).continuous_needs())
        []
        """
        needs: set[str] = set()
        for life in self._lives:
            trigger = life.trigger
            signals = _signals(trigger)
            if "idle_ms" in signals:
                needs.update(("pointermove", "scroll"))
            if "exit_intent" in signals or "dragging" in trigger.suppress_when:
                needs.add("pointermove")
            if signals & {"scroll_depth", "scroll_velocity", "scroll_velocity_ratio"}:
                needs.add("scroll")
            if trigger.gate is not None:
                needs.update(trigger.gate.confirm & {"pointermove", "scroll"})
        return frozenset(needs)

    def move_needs(self) -> dict[str, bool | list[str]]:
        """Which ``pointermove`` events can change anything, so that a page
        may send only those (and listen to moves only while one can count):

        - ``all``: every move (``idle_ms`` is reset by every input);
        - ``pressed``: the first move while a pointer is held down (``dragging``
          starts there and lasts until ``pointerup``);
        - ``leave``: the first move after the pointer left the page
          (``exit_intent`` ends there);
        - ``gates``: the triggers whose open gate a move confirms: the first
          move while one is open (from its ``gate`` decision to its ``fire``
          or ``expire``).

        Every other move changes no signal, context or gate.

        >>> from pytrigger.config import load_config
        >>> config = load_config({"version": 1, "triggers": [{"id": "bye",
        ...     "when": {"signal": "exit_intent", "eq": 1}, "suppress_when": ["dragging"]}]})
        >>> Engine(config).move_needs()
        {'all': False, 'pressed': True, 'leave': True, 'gates': []}
        """
        every = pressed = leave = False
        gates: list[str] = []
        for life in self._lives:
            trigger = life.trigger
            signals = _signals(trigger)
            every = every or "idle_ms" in signals
            pressed = pressed or "dragging" in trigger.suppress_when
            leave = leave or "exit_intent" in signals
            if trigger.gate is not None and "pointermove" in trigger.gate.confirm:
                gates.append(trigger.id)
        return {"all": every, "pressed": pressed, "leave": leave, "gates": gates}

    def selection_needed(self) -> bool:
        """Whether ``selection`` events can change anything: the
        ``selecting_text`` context reads them, ``idle_ms`` counts them as
        input, and a gate may be confirmed by one.  Without any of those a page
        need not watch the selection (``selectionchange`` fires on every caret
        move, and reading the selection is the shim's costliest listener).

        >>> from pytrigger.config import load_config
        >>> Engine(load_config({"version": 1, "triggers": [{"id": "c", "target": ".c",
        ...     "when": {"signal": "dwell_ms", "gte": 500}}]})).selection_needed()
        False
        """
        for life in self._lives:
            trigger = life.trigger
            if "selecting_text" in trigger.suppress_when:
                return True
            if "idle_ms" in _signals(trigger):
                return True
            if trigger.gate is not None and "selection" in trigger.gate.confirm:
                return True
        return False

    def hold_needs(self) -> dict[str, float | None]:
        """How long a page may hold a ``pointerenter`` on each trigger's target
        before sending it: trigger id -> ms (``None``: until anything else is
        sent).  A trigger left out must have its enters and leaves at once.

        A target's enter and leave change only ``dwell_ms``, and a comparison of
        ``dwell_ms`` with a threshold above 0 keeps its truth from the enter
        until the threshold: an enter and its leave in that time change no
        decision.  So a page may hold an enter, and the leave that follows it
        while the enter is still held, for the smallest ``dwell_ms`` threshold
        less :data:`HOLD_MARGIN_MS` (the enter must reach the engine before the
        dwell can decide), and for as long as it likes for a trigger that reads
        no ``dwell_ms``.  Held events go out before anything else the page
        sends, so the page's events keep their order; the engine's deadlines
        may have moved it on meanwhile, which :meth:`feed` allows for these two
        types.  Nothing may be held when a trigger reads ``idle_ms`` (every
        input resets it), for a gate that an enter or leave confirms, or for a
        ``dwell_ms`` threshold that is not a number above ``MIN_HOLD_MS`` plus
        the margin.

        >>> from pytrigger.config import load_config
        >>> config = load_config({"version": 1, "triggers": [
        ...     {"id": "card", "target": ".card", "when": {"signal": "dwell_ms", "gte": 500}},
        ...     {"id": "rage", "target": "button", "when": {"signal": "rage_clicks", "gte": 3}}]})
        >>> Engine(config).hold_needs()
        {'card': 400.0, 'rage': None}
        """
        if any("idle_ms" in _signals(life.trigger) for life in self._lives):
            return {}
        holds: dict[str, float | None] = {}
        for life in self._lives:
            trigger = life.trigger
            if trigger.target is None:
                continue
            if trigger.gate is not None and trigger.gate.confirm & LATE_TYPES:
                continue
            hold: float | None = None
            for leaf in leaves(trigger.when):
                if leaf.signal != "dwell_ms":
                    continue
                value = leaf.value
                if isinstance(value, str) or value - HOLD_MARGIN_MS < MIN_HOLD_MS:
                    break
                hold = value - HOLD_MARGIN_MS if hold is None else min(hold, value - HOLD_MARGIN_MS)
            else:
                holds[trigger.id] = hold
        return holds

    def leave_holds(self) -> dict[str, float]:
        """Which triggers' ``pointerleave`` may wait even after their enter was
        sent: trigger id -> the dwell (ms) after which a leave may wait.

        For a trigger whose condition is one ``dwell_ms`` ``gt``/``gte``
        comparison, with no ``hold_ms`` and no gate, a leave after the dwell
        passed the threshold only lowers the condition once it has decided: the
        next rise needs a new enter, which comes after the leave.  So a page may
        hold that leave until it sends anything else (0: a trigger that reads
        no ``dwell_ms``, whose leaves never matter).  The same exclusions as
        :meth:`hold_needs` apply.

        >>> from pytrigger.config import load_config
        >>> config = load_config({"version": 1, "triggers": [
        ...     {"id": "card", "target": ".card", "when": {"signal": "dwell_ms", "gte": 500}},
        ...     {"id": "rage", "target": "button", "when": {"signal": "rage_clicks", "gte": 3}},
        ...     {"id": "slow", "target": ".card", "when": {"signal": "dwell_ms", "gte": 500},
        ...      "hold_ms": 200}]})
        >>> Engine(config).leave_holds()
        {'card': 500.0, 'rage': 0.0}
        """
        holds = self.hold_needs()
        leaves: dict[str, float] = {}
        for life in self._lives:
            trigger, when = life.trigger, life.trigger.when
            if trigger.id not in holds:
                continue
            if "dwell_ms" not in _signals(trigger):
                leaves[trigger.id] = 0.0
            elif (
                isinstance(when, Leaf)
                and when.op in ("gt", "gte")
                and trigger.hold_ms == 0
                and trigger.gate is None
            ):
                assert not isinstance(when.value, str)  # hold_needs left those out
                leaves[trigger.id] = float(when.value)
        return leaves

    @property
    def now(self) -> float:
        """The time of the last event or deadline handled (0 before any)."""
        return 0.0 if self._t is None else self._t

    def next_deadline(self) -> float | None:
        """The next moment (ms) at which :meth:`advance` must be called, if any."""
        if self._t is None:
            return 0.0
        if self._late:
            return self._t
        heap, lives = self._heap, self._lives
        while heap and heap[0][2] != lives[heap[0][1]].version:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def advance(self, now_ms: float) -> list[Decision]:
        """Handle every deadline up to and including ``now_ms``."""
        out: list[Decision] = []
        self._advance(now_ms, out)
        return out

    def feed(self, event: Event) -> list[Decision]:
        """Handle one event (after the deadlines due by its ``t``).

        A ``pointerenter`` or ``pointerleave`` may come late, with a ``t`` before
        the engine's time (a page holds them, see :meth:`hold_needs`, while
        deadlines move the engine on): its dwell counts from its own ``t``, and
        the triggers it touches step at the engine's time at the next
        :meth:`feed` or :meth:`advance` (:meth:`next_deadline` says so), once
        the late boundaries that came with it are in: an enter and its leave
        that both come late change nothing.

        >>> from pytrigger.config import load_config
        >>> engine = Engine(load_config({"version": 1, "triggers": [
        ...     {"id": "card", "target": ".card", "when": {"signal": "dwell_ms", "gte": 500}}]}))
        >>> _ = engine.feed(Event(300.0, "click", x=1.0, y=1.0))
        >>> engine.feed(Event(100.0, "pointerenter", targets=("card",)))  # held
        []
        >>> engine.next_deadline()
        300.0
        >>> [(d.kind, d.t) for d in engine.advance(700.0)]
        [('fire', 600.0)]

        Raises :class:`EventError` if ``event.t`` of any other event is before
        the engine's time."""
        late = self._t is not None and event.t < self._t
        if late and event.type not in LATE_TYPES:
            raise EventError(f"t: goes backwards ({event.t} after {self._t})")
        out: list[Decision] = []
        if not late:
            self._advance(event.t, out)
            self._t = event.t
        t = self.now
        touched = self._apply(event)
        if self._gated:
            for index, life in list(self._gated.items()):
                gate = life.trigger.gate
                if gate is not None and event.type in gate.confirm:
                    del self._gated[index]
                    life.confirm(t, out)
                    touched.add(index)
        if event.type == "dismiss" and event.name is not None:
            dismissed = self._by_id.get(event.name)
            if dismissed is not None:
                dismissed.dismiss(t, out)
                self._gated.pop(dismissed.index, None)
                touched.add(dismissed.index)
        if late:
            self._late |= touched
        elif touched:
            self._step_all(sorted(touched), t, out)
        return out

    def feed_json(self, obj: object) -> list[Decision]:
        """Parse and feed one trace-format object; malformed input (including a
        ``t`` that goes backwards) is dropped and counted in :attr:`dropped`,
        never raised."""
        try:
            return self.feed(parse_event(obj))
        except EventError as error:
            self.dropped[error.reason.split(":", 1)[0]] += 1
            return []

    def feed_all(self, events: Iterable[Event]) -> list[Decision]:
        out: list[Decision] = []
        for event in events:
            out.extend(self.feed(event))
        return out

    # -- internals -----------------------------------------------------------
    def _advance(self, now: float, out: list[Decision]) -> None:
        if self._t is None:
            self._t = 0.0
            self._step_all(range(len(self._lives)), 0.0, out)
        if self._late:  # what late boundaries touched, at the time they came in
            late, self._late = self._late, set()
            self._step_all(sorted(late), self._t, out)
        heap, lives = self._heap, self._lives
        while heap and heap[0][0] <= now:
            due = heap[0][0]
            batch: set[int] = set()
            while heap and heap[0][0] == due:
                _, index, version = heapq.heappop(heap)
                if version == lives[index].version:
                    batch.add(index)
            if batch:
                self._t = due
                self._step_all(sorted(batch), due, out)

    def _step_all(self, indices: Iterable[int], t: float, out: list[Decision]) -> None:
        heap = self._heap
        for index in indices:
            life = self._lives[index]
            if life.step(t, out):
                self.exposures.append(Exposure((t, life.trigger.id, life.variant)))
            if life.gate_until != _INF:
                self._gated[index] = life
            elif index in self._gated:
                del self._gated[index]
            deadline = life.deadline(t)
            if deadline != life.filed or deadline == t:
                life.version += 1
                life.filed = deadline
                if deadline is not None:
                    heapq.heappush(heap, (deadline, index, life.version))
        if len(heap) > 2 * len(self._lives) + 16:  # drop superseded entries
            lives = self._lives
            heap[:] = [entry for entry in heap if entry[2] == lives[entry[1]].version]
            heapq.heapify(heap)

    def _apply(self, event: Event) -> set[int]:
        """Update signal and context state; the indices of the triggers to step."""
        kind, t = event.type, event.t
        touched = set(self._page_index[kind])
        if kind in _INPUT_TYPES and t > self._idle.last_input:
            self._idle.last_input = t  # a late enter or leave never moves it back
        self._contexts.apply(event)
        targets = self._targets
        if kind == "pointermove":
            if self._exit.active:
                self._exit.moved()
                touched.update(self._exit_readers)
            if not event.targets:
                return touched
        elif kind == "scroll":
            assert event.scroll_y is not None and event.viewport_h is not None
            assert event.doc_h is not None
            self._scroll.scroll(t, event.scroll_y, event.viewport_h, event.doc_h)
        elif kind == "leave":
            self._exit.leave(event.y if event.y is not None else 0.0)
            for trigger_id, target in targets.items():
                if target.dwell.entered_at is not None:
                    target.dwell.leave()
                    touched.add(self._by_id[trigger_id].index)
        elif kind == "context":
            if event.pointer is not None:
                self._device.pointer = event.pointer
            if event.viewport_w is not None:
                self._device.viewport_w = event.viewport_w
        elif kind == "focus":
            for trigger_id, target in targets.items():
                if target.keys.focused_at is not None and trigger_id not in event.targets:
                    target.keys.blur()
                    touched.add(self._by_id[trigger_id].index)
        for trigger_id in event.targets:
            found = targets.get(trigger_id)
            if found is None:
                continue
            target = found
            if kind == "pointerenter":
                target.dwell.enter(t)
            elif kind == "pointerleave":
                target.dwell.leave()
            elif kind == "keydown":
                target.keys.keydown(t)
            elif kind == "input":
                target.keys.activity(t)
            elif kind == "focus":
                target.keys.focus(t)
            elif kind == "blur":
                target.keys.blur()
            elif kind == "click":
                assert event.x is not None and event.y is not None
                target.rage.click(t, event.x, event.y)
            else:
                continue
            touched.add(self._by_id[trigger_id].index)
        return touched
