"""``rage_clicks``: the current streak of clicks on a target.

Each click less than 1000 ms after and less than 30 px (Manhattan) from the
previous click on the target extends the streak; any other click restarts it
at 1.  The signal reads 0 once 1000 ms pass with no click.
"""

from __future__ import annotations

__all__ = ["RageClicks", "RageState"]

STREAK_GAP_MS = 1000.0
STREAK_RADIUS_PX = 30.0


class RageState:
    __slots__ = ("count", "last_t", "last_x", "last_y")

    def __init__(self) -> None:
        self.count = 0
        self.last_t: float | None = None
        self.last_x = 0.0
        self.last_y = 0.0

    def click(self, t: float, x: float, y: float) -> None:
        if (
            self.last_t is not None
            and t < self.last_t + STREAK_GAP_MS
            and abs(x - self.last_x) + abs(y - self.last_y) < STREAK_RADIUS_PX
        ):
            self.count += 1
        else:
            self.count = 1
        self.last_t, self.last_x, self.last_y = t, x, y


class RageClicks:
    __slots__ = ("state",)

    def __init__(self, state: RageState) -> None:
        self.state = state

    def value(self, t: float) -> float:
        last = self.state.last_t
        if last is None or t >= last + STREAK_GAP_MS:
            return 0.0
        return float(self.state.count)

    def deadline(self, t: float, threshold: float | str) -> float | None:
        last = self.state.last_t
        if last is None or last + STREAK_GAP_MS <= t:
            return None
        return last + STREAK_GAP_MS
