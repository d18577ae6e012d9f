"""Page-level signals of time and device: ``idle_ms``, ``time_on_page_ms``,
``pointer`` and ``viewport_w`` (from the ``context`` event).

``idle_ms`` is the time since the last input event — every event type but
``visibility``, ``dismiss``, ``goal`` and ``consent`` — and counts from t = 0
before any.
"""

from __future__ import annotations

from pytrigger.signals.base import linear_deadline

__all__ = ["NON_INPUT_TYPES", "DeviceState", "IdleMs", "IdleState", "Pointer", "TimeOnPage",
           "ViewportWidth"]  # fmt: skip

NON_INPUT_TYPES: frozenset[str] = frozenset({"visibility", "dismiss", "goal", "consent"})


class IdleState:
    __slots__ = ("last_input",)

    def __init__(self) -> None:
        self.last_input = 0.0


class IdleMs:
    __slots__ = ("state",)

    def __init__(self, state: IdleState) -> None:
        self.state = state

    def value(self, t: float) -> float:
        return t - self.state.last_input

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return linear_deadline(self.state.last_input, threshold, t)


class TimeOnPage:
    __slots__ = ()

    def value(self, t: float) -> float:
        return t

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return linear_deadline(0.0, threshold, t)


class DeviceState:
    __slots__ = ("pointer", "viewport_w")

    def __init__(self) -> None:
        self.pointer: str | None = None
        self.viewport_w: float | None = None


class Pointer:
    __slots__ = ("state",)

    def __init__(self, state: DeviceState) -> None:
        self.state = state

    def value(self, t: float) -> str | None:
        return self.state.pointer

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return None


class ViewportWidth:
    __slots__ = ("state",)

    def __init__(self, state: DeviceState) -> None:
        self.state = state

    def value(self, t: float) -> float | None:
        return self.state.viewport_w

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return None
