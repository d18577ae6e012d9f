"""A trigger's life over one page session, as a transition table.

Theory of operation
-------------------
Conditions are level-triggered, decisions edge-triggered.  Each trigger is in
one :class:`Phase`:

- ``IDLE`` — waiting for its condition to *become* true (a rise);
- ``HOLDING`` — the condition rose and must stay true for ``hold_ms`` (the
  debounce); a fall goes back to ``IDLE``;
- ``GATED`` — a confirmation gate is open: a confirming event before
  ``within_ms`` passes makes it ``fire``, else it ``expire``s.  Rises and falls
  of the condition are noted but change nothing (a confirmed gate fires even if
  the condition no longer holds);
- ``LATCHED`` — it acted (or was suppressed) on this rise and waits for the
  condition to become false before it may act again.

At the moment it would act (the end of the hold) the trigger checks, in this
order, ``max_per_session``, its cool-down and its ``suppress_when`` contexts (in
the order of :data:`~pytrigger.triggers.CONTEXTS`, whatever order the config
lists them in); the first that blocks yields one ``suppressed`` decision.  The
cool-down ("cooling down") and the session cap ("exhausted") are counters, not
phases: a trigger that may not act still latches on each rise.  After its n-th
fire or dismiss (its *level*) a trigger waits
``min(cooldown_ms · backoff^(n-1), max_cooldown_ms)``.

A transition the table does not list is a bug and raises
:class:`LifecycleBug`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable

from pytrigger.decisions import Decision
from pytrigger.evaluation import Node
from pytrigger.triggers import Trigger

__all__ = ["TRANSITIONS", "Input", "LifecycleBug", "Phase", "TriggerLife"]

_INF = math.inf


class Phase(enum.Enum):
    IDLE = "idle"
    HOLDING = "holding"
    GATED = "gated"
    LATCHED = "latched"


class Input(enum.Enum):
    RISE = "rise"
    FALL = "fall"
    FIRE = "fire"  # acted without a gate
    OPEN_GATE = "open_gate"
    SUPPRESS = "suppress"
    CONFIRM = "confirm"
    EXPIRE = "expire"  # the gate's window ran out, or the visitor dismissed it


TRANSITIONS: dict[tuple[Phase, Input], Phase] = {
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


class LifecycleBug(RuntimeError):
    """An impossible transition: a bug in pytrigger, never bad input."""


#: ``blocked(trigger, t)`` names the context that blocks acting at ``t``, or None
ContextCheck = Callable[[Trigger, float], str | None]


class TriggerLife:
    """One trigger (already resolved for this session's arm and segment) with
    its condition bound to signal state.  Driven by the engine: ``step`` at
    every event or deadline that may change it, ``confirm`` and ``dismiss`` on
    those events."""

    __slots__ = (
        "cond",
        "context_blocks",
        "cooldown_until",
        "exposed",
        "filed",
        "fires",
        "gate_until",
        "hold_until",
        "index",
        "level",
        "node",
        "phase",
        "segment",
        "trigger",
        "variant",
        "version",
    )

    def __init__(
        self,
        index: int,
        trigger: Trigger,
        node: Node,
        context_blocks: ContextCheck,
        variant: str | None = None,
        segment: str | None = None,
    ) -> None:
        self.index = index
        self.trigger = trigger
        self.node = node
        self.context_blocks = context_blocks
        self.variant = variant
        self.segment = segment
        self.phase = Phase.IDLE
        self.cond = False
        self.exposed = False
        self.fires = 0
        self.level = 0
        self.cooldown_until = -_INF
        self.hold_until = _INF
        self.gate_until = _INF
        self.version = 0  # bumped whenever the engine re-files this trigger's deadline
        self.filed: float | None = None  # the deadline filed under that version

    # -- the table ---------------------------------------------------------
    def _to(self, what: Input) -> None:
        try:
            self.phase = TRANSITIONS[self.phase, what]
        except KeyError:
            raise LifecycleBug(f"{self.trigger.id}: {what.value} in {self.phase.value}") from None

    # -- driving -----------------------------------------------------------
    def step(self, t: float, out: list[Decision]) -> bool:
        """Evaluate at ``t``; append decisions to ``out``.  Returns True when the
        condition became true for the first time this session (an exposure)."""
        cond = self.node.eval(t) is True
        first_rise = False
        if cond != self.cond:
            self.cond = cond
            if cond:
                first_rise = not self.exposed
                self.exposed = True
                self._to(Input.RISE)
                if self.phase is Phase.HOLDING:
                    self.hold_until = t + self.trigger.hold_ms
            else:
                self._to(Input.FALL)
        if self.phase is Phase.GATED and t >= self.gate_until:
            self._close_gate(t, out)
        if self.phase is Phase.HOLDING and t >= self.hold_until:
            self._act(t, out)
        return first_rise

    def confirm(self, t: float, out: list[Decision]) -> None:
        """A confirming event at ``t`` while the gate is open."""
        self._to(Input.CONFIRM)
        self.gate_until = _INF
        self._fire(t, out)
        self._settle()

    def dismiss(self, t: float, out: list[Decision]) -> None:
        """The visitor closed this trigger's intervention: the wait restarts at
        the next level, as after a fire; an open gate closes unconfirmed."""
        self._start_cooldown(t)
        if self.phase is Phase.GATED:
            self._close_gate(t, out)

    def deadline(self, t: float) -> float | None:
        soonest = self.node.deadline(t)
        for candidate in (self.hold_until, self.gate_until, self.cooldown_until):
            if t < candidate < _INF and (soonest is None or candidate < soonest):
                soonest = candidate
        return soonest

    # -- internals ---------------------------------------------------------
    def _decision(self, t: float, kind: str, reason: str | None = None) -> Decision:
        trigger = self.trigger
        if kind == "fire":
            action = trigger.action
        elif kind == "gate" and trigger.gate is not None:
            action = trigger.gate.action
        else:
            action = None
        return Decision(t, trigger.id, kind, reason, self.variant, self.segment, action)  # type: ignore[arg-type]

    def _blocked(self, t: float) -> str | None:
        if self.fires >= self.trigger.max_per_session:
            return "max_per_session"
        if t < self.cooldown_until:
            return "cooldown"
        return self.context_blocks(self.trigger, t)

    def _act(self, t: float, out: list[Decision]) -> None:
        self.hold_until = _INF
        reason = self._blocked(t)
        gate = self.trigger.gate
        if reason is not None:
            out.append(self._decision(t, "suppressed", reason))
            self._to(Input.SUPPRESS)
        elif gate is not None:
            out.append(self._decision(t, "gate"))
            self._to(Input.OPEN_GATE)
            self.gate_until = t + gate.within_ms
        else:
            self._to(Input.FIRE)
            self._fire(t, out)

    def _fire(self, t: float, out: list[Decision]) -> None:
        self.fires += 1
        self._start_cooldown(t)
        out.append(self._decision(t, "fire"))

    def _start_cooldown(self, t: float) -> None:
        self.level += 1
        trigger = self.trigger
        try:
            growth = trigger.backoff ** (self.level - 1)
        except OverflowError:  # a very long session with backoff > 1: the cap applies
            growth = _INF
        wait = trigger.cooldown_ms * growth if trigger.cooldown_ms > 0 else 0.0
        self.cooldown_until = t + min(wait, trigger.max_cooldown_ms)

    def _close_gate(self, t: float, out: list[Decision]) -> None:
        out.append(self._decision(t, "expire"))
        self._to(Input.EXPIRE)
        self.gate_until = _INF
        self._settle()

    def _settle(self) -> None:
        """After a gate closes: a condition already false frees the trigger."""
        if not self.cond:
            self._to(Input.FALL)
