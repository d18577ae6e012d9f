"""Small stateful estimators with one protocol (after river's ``stats``).

Every estimator has ``update(x, t) -> self`` and ``get() -> float | None``;
``get`` is ``None`` until the estimator has seen enough (its warm-up), so that
nothing downstream fires on no data.  Windowed estimators take the time ``t``
(ms) of each sample and answer for any later time with ``at(t)``; trailing
windows are half-open, ``(t - window_ms, t]``.

>>> median = RunningMedian(warmup=3)
>>> for x in (5.0, 1.0, 3.0):
...     _ = median.update(x)
>>> median.get()
3.0
>>> window = TrailingSum(300.0)
>>> _ = window.update(10.0, t=100.0).update(5.0, t=350.0)
>>> window.at(399.0), window.at(400.0), window.next_expiry(399.0)
(15.0, 5.0, 400.0)
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Protocol, Self

__all__ = ["EWMean", "Estimator", "RunningMedian", "TrailingSum"]


class Estimator(Protocol):
    def update(self, x: float, t: float = 0.0) -> Self: ...

    def get(self) -> float | None: ...


class RunningMedian:
    """The exact running median, in O(log n) per sample (two heaps).

    ``get()`` is ``None`` until ``warmup`` samples have been seen."""

    __slots__ = ("_high", "_low", "warmup")

    def __init__(self, warmup: int = 1) -> None:
        self.warmup = warmup
        self._low: list[float] = []  # max-heap (negated): the lower half
        self._high: list[float] = []  # min-heap: the upper half

    def __len__(self) -> int:
        return len(self._low) + len(self._high)

    def update(self, x: float, t: float = 0.0) -> Self:
        if self._low and x > -self._low[0]:
            heapq.heappush(self._high, x)
        else:
            heapq.heappush(self._low, -x)
        if len(self._low) > len(self._high) + 1:
            heapq.heappush(self._high, -heapq.heappop(self._low))
        elif len(self._high) > len(self._low):
            heapq.heappush(self._low, -heapq.heappop(self._high))
        return self

    def get(self) -> float | None:
        if len(self) < max(self.warmup, 1):
            return None
        if len(self._low) > len(self._high):
            return -self._low[0]
        return (-self._low[0] + self._high[0]) / 2.0


class EWMean:
    """Exponentially weighted mean: ``m ← m + alpha·(x - m)``; ``None`` until
    ``warmup`` samples."""

    __slots__ = ("_mean", "_n", "alpha", "warmup")

    def __init__(self, alpha: float = 0.1, warmup: int = 1) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ValueError("alpha must be in (0, 1]")
        self.alpha = alpha
        self.warmup = warmup
        self._mean = 0.0
        self._n = 0

    def update(self, x: float, t: float = 0.0) -> Self:
        self._n += 1
        self._mean = x if self._n == 1 else self._mean + self.alpha * (x - self._mean)
        return self

    def get(self) -> float | None:
        return self._mean if self._n >= max(self.warmup, 1) else None


class TrailingSum:
    """Sum and count of the samples in the trailing window ``(t - window_ms, t]``.

    ``update`` must be called with non-decreasing ``t``.  ``get()`` is the sum at
    the last update; ``at(t)`` the sum at a later ``t``; ``next_expiry(t)`` the
    first moment after ``t`` at which a sample leaves the window (``None`` when
    the window is empty by then).  The sum is exact for the samples it holds
    (recomputed, never kept by subtraction), so equal windows give equal sums."""

    __slots__ = ("_samples", "_sum", "_t", "window_ms")

    def __init__(self, window_ms: float) -> None:
        if window_ms <= 0:
            raise ValueError("window_ms must be positive")
        self.window_ms = window_ms
        self._samples: deque[tuple[float, float]] = deque()
        self._sum = 0.0
        self._t = 0.0

    # A sample taken at ``ts`` leaves the window at exactly ``ts + window_ms``;
    # every test below uses that one expression, never ``t - window_ms``, so
    # that the moment reported by ``next_expiry`` is the moment the sum changes
    # (the two differ by a rounding error for some floats).
    def update(self, x: float, t: float = 0.0) -> Self:
        samples, w = self._samples, self.window_ms
        samples.append((t, x))
        self._t = t
        while samples[0][0] + w <= t:
            samples.popleft()
        self._sum = sum(value for _, value in samples)
        return self

    def at(self, t: float) -> float:
        samples, w = self._samples, self.window_ms
        if not samples or samples[0][0] + w > t:  # nothing left since the update
            return self._sum
        return sum(x for ts, x in samples if ts + w > t)

    def count(self, t: float) -> int:
        samples, w = self._samples, self.window_ms
        if not samples or samples[0][0] + w > t:
            return len(samples)
        return sum(1 for ts, _ in samples if ts + w > t)

    def last_time(self) -> float | None:
        return self._samples[-1][0] if self._samples else None

    def next_expiry(self, t: float) -> float | None:
        w = self.window_ms
        for ts, _ in self._samples:
            if ts + w > t:
                return ts + w
        return None

    def get(self) -> float | None:
        return self.at(self._t)
