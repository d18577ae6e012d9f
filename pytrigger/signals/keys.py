"""Keyboard and focus signals on a trigger's target: ``focus_ms``,
``hesitation_ms``, ``pauses``, ``keystrokes``, ``keystroke_rate``.

A *focus session* runs from the target's ``focus`` to its ``blur``.  Activity
is a ``keydown`` or ``input`` in the target; ``hesitation_ms`` is the time since
the last activity (or since focus), and ``pauses`` counts the gaps of at least
``pause_ms`` in the session: focus → first activity, activity → activity, and
the running gap from the last activity to now.
"""

from __future__ import annotations

from pytrigger.signals.base import linear_deadline
from pytrigger.stats import TrailingSum

__all__ = [
    "FocusMs",
    "HesitationMs",
    "KeyState",
    "KeystrokeRate",
    "Keystrokes",
    "Pauses",
]


class KeyState:
    """Focus and key state of one target, with the windows and pause lengths its
    conditions read (known when the engine is built)."""

    __slots__ = ("completed", "focused_at", "keys", "last_activity")

    def __init__(self, pause_lengths: set[float], windows: set[float]) -> None:
        self.focused_at: float | None = None
        self.last_activity: float | None = None
        #: pause_ms -> gaps of at least that long completed in this focus session
        self.completed: dict[float, int] = dict.fromkeys(pause_lengths, 0)
        #: window_ms -> keydowns in the trailing window
        self.keys: dict[float, TrailingSum] = {w: TrailingSum(w) for w in windows}

    def focus(self, t: float) -> None:
        self.focused_at = t
        self.last_activity = None
        for p in self.completed:
            self.completed[p] = 0

    def blur(self) -> None:
        self.focused_at = None
        self.last_activity = None

    def activity(self, t: float) -> None:
        """A ``keydown`` or ``input`` in the target."""
        if self.focused_at is None:
            return
        ref = self.last_activity if self.last_activity is not None else self.focused_at
        for p in self.completed:
            if t >= ref + p:  # the gap is at least p (the same sum as the deadline)
                self.completed[p] += 1
        self.last_activity = t

    def keydown(self, t: float) -> None:
        for window in self.keys.values():
            window.update(1.0, t)
        self.activity(t)

    def reference(self) -> float | None:
        """Start of the running gap: the last activity, else the focus."""
        return self.last_activity if self.last_activity is not None else self.focused_at


class FocusMs:
    __slots__ = ("state",)

    def __init__(self, state: KeyState) -> None:
        self.state = state

    def value(self, t: float) -> float:
        ref = self.state.focused_at
        return 0.0 if ref is None else t - ref

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return linear_deadline(self.state.focused_at, threshold, t)


class HesitationMs:
    __slots__ = ("state",)

    def __init__(self, state: KeyState) -> None:
        self.state = state

    def value(self, t: float) -> float:
        ref = self.state.reference()
        return 0.0 if ref is None else t - ref

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return linear_deadline(self.state.reference(), threshold, t)


class Pauses:
    __slots__ = ("pause_ms", "state")

    def __init__(self, state: KeyState, pause_ms: float) -> None:
        self.state = state
        self.pause_ms = pause_ms

    def value(self, t: float) -> float:
        ref = self.state.reference()
        if ref is None:
            return 0.0
        running = 1 if t >= ref + self.pause_ms else 0
        return float(self.state.completed[self.pause_ms] + running)

    def deadline(self, t: float, threshold: float | str) -> float | None:
        ref = self.state.reference()
        if ref is None or ref + self.pause_ms <= t:
            return None
        return ref + self.pause_ms


class Keystrokes:
    __slots__ = ("window",)

    def __init__(self, state: KeyState, window_ms: float) -> None:
        self.window = state.keys[window_ms]

    def value(self, t: float) -> float:
        return float(self.window.count(t))

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return self.window.next_expiry(t)


class KeystrokeRate(Keystrokes):
    """``keystrokes / (window_ms / 1000)``: keys per second."""

    __slots__ = ()

    def value(self, t: float) -> float:
        return self.window.count(t) * 1000.0 / self.window.window_ms
