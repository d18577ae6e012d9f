"""What every signal reader offers the condition evaluator.

A reader is bound to the state of one signal (on one target, or on the page)
and one set of parameters.  ``value(t)`` is the signal's value at ``t`` (``None``
while it has no value yet); ``deadline(t, threshold)`` is the first moment after
``t`` at which a comparison against ``threshold`` may change its truth without a
new event, or ``None`` if none will.  A reader may report a deadline at which
nothing changes (the engine then re-evaluates for nothing), never miss one.
"""

from __future__ import annotations

import math
from typing import Protocol

__all__ = ["Reader", "linear_deadline"]

_INF = math.inf


class Reader(Protocol):
    def value(self, t: float) -> float | str | None: ...

    def deadline(self, t: float, threshold: float | str) -> float | None: ...


def linear_deadline(ref: float | None, threshold: float | str, t: float) -> float | None:
    """For a signal worth ``t - ref`` (time since ``ref``; 0 when ``ref`` is None):
    the first moment after ``t`` at which a comparison with ``threshold`` flips.

    ``gte``/``lt`` flip exactly at ``ref + threshold``; ``gt``/``lte`` (and ``eq``)
    just after it, at the next float, so both moments are candidates.

    >>> linear_deadline(100.0, 500.0, 200.0)
    600.0
    >>> linear_deadline(100.0, 500.0, 600.0) > 600.0
    True
    >>> linear_deadline(None, 500.0, 0.0) is None
    True
    """
    if ref is None or isinstance(threshold, str):
        return None
    # The value is computed as ``t - ref``, which rounds: step to the first float
    # at which it really reaches the threshold, and the first at which it passes.
    reach = ref + threshold
    while reach - ref < threshold:
        reach = math.nextafter(reach, _INF)
    while reach > ref and math.nextafter(reach, -_INF) - ref >= threshold:
        reach = math.nextafter(reach, -_INF)
    if reach > t:
        return reach
    passed = reach
    while passed - ref <= threshold:
        passed = math.nextafter(passed, _INF)
    return passed if passed > t else None
