"""Per-site token buckets, in the memory of one collector process.

Each site's bucket holds up to ``burst`` tokens and refills at ``rate`` tokens
per second; a report takes one token, and a report finding the bucket empty
is refused (429) with the seconds until a token is back (``Retry-After``).

The buckets live in one process: with N collector processes (uvicorn workers,
or machines sharing one PostgreSQL) a site may send up to N times its rate.
That is documented (docs/collector.md) rather than coordinated through the
database, which would cost a write per report.

>>> clock = iter([0.0, 0.0, 0.0, 0.5]).__next__
>>> limiter = RateLimiter(clock=clock)
>>> limiter.take("demo", rate=2.0, burst=2), limiter.take("demo", rate=2.0, burst=2)
(None, None)
>>> limiter.take("demo", rate=2.0, burst=2)   # empty: back in 0.5 s
0.5
>>> limiter.take("demo", rate=2.0, burst=2)   # 0.5 s later: one token again
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class RateLimiter:
    """Token buckets keyed by site key; ``clock`` is injected (seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, *, rate: float, burst: int) -> float | None:
        """Take one token: ``None`` when granted, else the seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(burst), now)
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / rate
