"""Page-level scroll signals: ``scroll_velocity``, ``scroll_velocity_ratio``,
``scroll_depth``.

``scroll_velocity`` (window ``w``, default 300 ms) is the sum of |Δscroll_y| of
the scroll events in ``(t - w, t]`` (each against the scroll event before it)
per second.  ``scroll_velocity_ratio`` is, at a scroll event, that velocity over
the visitor's own baseline — the exact median of the non-zero velocities at the
earlier scroll events of the session — and is absent until 5 such samples
exist; between scroll events it keeps its last value until the window empties,
then reads 0.  ``scroll_depth`` is the session's maximum of
``(scroll_y + viewport_h) / doc_h``, clipped to [0, 1].
"""

from __future__ import annotations

from pytrigger.stats import RunningMedian, TrailingSum

__all__ = [
    "BASELINE_SAMPLES",
    "ScrollDepth",
    "ScrollState",
    "ScrollVelocity",
    "ScrollVelocityRatio",
    "VelocityWindow",
]

#: earlier non-zero velocity samples needed before the ratio has a value
BASELINE_SAMPLES = 5


class VelocityWindow:
    """Velocity, baseline and ratio for one ``window_ms``."""

    __slots__ = ("baseline", "deltas", "last_ratio", "last_t", "window_ms")

    def __init__(self, window_ms: float) -> None:
        self.window_ms = window_ms
        self.deltas = TrailingSum(window_ms)
        self.baseline = RunningMedian(warmup=BASELINE_SAMPLES)
        self.last_ratio: float | None = None
        self.last_t: float | None = None

    def velocity(self, t: float) -> float:
        return self.deltas.at(t) * 1000.0 / self.window_ms

    def scroll(self, t: float, delta: float) -> None:
        self.deltas.update(delta, t)
        velocity = self.velocity(t)
        base = self.baseline.get()
        self.last_ratio = velocity / base if base else None
        if velocity > 0.0:
            self.baseline.update(velocity, t)
        self.last_t = t


class ScrollState:
    __slots__ = ("depth", "last_y", "windows")

    def __init__(self, windows: set[float]) -> None:
        self.depth = 0.0
        self.last_y: float | None = None
        self.windows = {w: VelocityWindow(w) for w in windows}

    def scroll(self, t: float, scroll_y: float, viewport_h: float, doc_h: float) -> None:
        delta = 0.0 if self.last_y is None else abs(scroll_y - self.last_y)
        self.last_y = scroll_y
        for window in self.windows.values():
            window.scroll(t, delta)
        depth = min(1.0, max(0.0, (scroll_y + viewport_h) / doc_h))
        if depth > self.depth:
            self.depth = depth


class ScrollVelocity:
    __slots__ = ("window",)

    def __init__(self, state: ScrollState, window_ms: float) -> None:
        self.window = state.windows[window_ms]

    def value(self, t: float) -> float:
        return self.window.velocity(t)

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return self.window.deltas.next_expiry(t)


class ScrollVelocityRatio:
    __slots__ = ("window",)

    def __init__(self, state: ScrollState, window_ms: float) -> None:
        self.window = state.windows[window_ms]

    def value(self, t: float) -> float | None:
        window = self.window
        if window.last_t is None:
            return None
        if t < window.last_t + window.window_ms:
            return window.last_ratio
        return 0.0 if window.baseline.get() is not None else None

    def deadline(self, t: float, threshold: float | str) -> float | None:
        last = self.window.last_t
        if last is None or last + self.window.window_ms <= t:
            return None
        return last + self.window.window_ms


class ScrollDepth:
    __slots__ = ("state",)

    def __init__(self, state: ScrollState) -> None:
        self.state = state

    def value(self, t: float) -> float:
        return self.state.depth

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return None
