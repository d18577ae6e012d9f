"""Pointer signals: ``dwell_ms`` on a target and page-level ``exit_intent``.

``dwell_ms`` counts from the ``pointerenter`` on the target while the pointer
stays inside; a ``pointerleave`` of the target, or a ``leave`` of the whole
document, ends it.  ``exit_intent`` is 1 from a ``leave`` at ``y <= 10`` until
the pointer moves again (the next ``pointermove``).
"""

from __future__ import annotations

from pytrigger.signals.base import linear_deadline

__all__ = ["DwellMs", "DwellState", "ExitIntent", "ExitState"]

EXIT_EDGE_PX = 10.0


class DwellState:
    __slots__ = ("entered_at",)

    def __init__(self) -> None:
        self.entered_at: float | None = None

    def enter(self, t: float) -> None:
        if self.entered_at is None:
            self.entered_at = t

    def leave(self) -> None:
        self.entered_at = None


class DwellMs:
    __slots__ = ("state",)

    def __init__(self, state: DwellState) -> None:
        self.state = state

    def value(self, t: float) -> float:
        ref = self.state.entered_at
        return 0.0 if ref is None else t - ref

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return linear_deadline(self.state.entered_at, threshold, t)


class ExitState:
    __slots__ = ("active",)

    def __init__(self) -> None:
        self.active = False

    def leave(self, y: float) -> None:
        self.active = y <= EXIT_EDGE_PX

    def moved(self) -> None:
        self.active = False


class ExitIntent:
    __slots__ = ("state",)

    def __init__(self, state: ExitState) -> None:
        self.state = state

    def value(self, t: float) -> float:
        return 1.0 if self.state.active else 0.0

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return None
