"""Randomized response and its debiasing: the arithmetic of the ``ldp`` mode.

In ``ldp`` mode (DESIGN.md §7) every per-session field of a report is a bit,
and each bit goes through *randomized response* with a privacy parameter ε:
the true bit is kept with probability ``p = e^ε / (1 + e^ε)`` and flipped with
probability ``q = 1 - p``.  Whatever the true bit, the odds of any output
differ by at most a factor ``p / q = e^ε`` — that is ε-local differential
privacy for one bit.

The collector sees N randomized bits of which ``ones`` are 1.  Their mean
``m`` has expectation ``q + (p - q)·π`` where π is the true share of 1-bits, so

    π̂ = (m - q) / (p - q)

is unbiased, with variance ``m(1 - m) / (N (p - q)²)`` (estimated); the 95 %
interval is ``π̂ ± 1.96·sqrt(variance)``.

A report holds many bits.  By sequential composition its privacy loss is the
sum of its parts: an independent bit costs ε, a one-hot block (a value from a
closed set, or none, sent as one bit per possible value) costs 2ε whatever its
width, because two inputs differ in at most two of its positions.

Standard library only, sans-IO: randomness comes in as a ``random.Random``.

>>> import random
>>> round(keep_probability(1.0986122886681098), 6)   # ε = ln 3 keeps 3 bits in 4
0.75
>>> randomize_bit(1, 1.0986122886681098, random.Random(7))
1
>>> est = debias(ones=5_500, n=10_000, epsilon=1.0986122886681098)
>>> round(est.estimate, 4), round(est.low, 4), round(est.high, 4)
(0.6, 0.5805, 0.6195)
>>> report_epsilon(1.0, independent_bits=13, one_hot_blocks=1)
15.0
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

__all__ = [
    "Z_95",
    "Estimate",
    "PermanentResponse",
    "debias",
    "debias_groups",
    "keep_probability",
    "randomize_bit",
    "report_epsilon",
    "wilson",
]

#: the two-sided 95 % quantile of the standard normal distribution
Z_95 = 1.959963984540054


class Estimate(NamedTuple):
    """An estimated share with its variance and 95 % interval ``[low, high]``.

    ``estimate`` is the unbiased estimate itself (it may fall outside [0, 1]
    when the truth is near an edge); the interval is clipped to [0, 1]."""

    estimate: float
    variance: float
    low: float
    high: float


def keep_probability(epsilon: float) -> float:
    """``e^ε / (1 + e^ε)``: the probability that randomized response keeps a bit."""
    if not epsilon > 0 or math.isinf(epsilon):
        raise ValueError(f"epsilon must be a positive finite number, not {epsilon!r}")
    return 1.0 / (1.0 + math.exp(-epsilon))


def randomize_bit(bit: int, epsilon: float, rng: random.Random) -> int:
    """Randomized response: ``bit`` with probability ``keep_probability(ε)``,
    else its opposite.  Draws exactly one ``rng.random()`` whatever the bit, so
    how much randomness a report consumes never depends on its contents."""
    keep = rng.random() < keep_probability(epsilon)
    return bit if keep else 1 - bit


def debias(ones: int, n: int, epsilon: float) -> Estimate:
    """Estimate the true share of 1-bits from ``ones`` randomized 1-bits among
    ``n`` reports, all randomized with ``epsilon``."""
    return debias_groups([(ones, n, epsilon)])


def debias_groups(groups: list[tuple[int, int, float]]) -> Estimate:
    """:func:`debias` over reports randomized with different ε.

    ``groups`` holds ``(ones, n, epsilon)`` per ε.  Each report's bit ``y``
    gives the unbiased ``(y - q) / (p - q)``; their mean over all reports is
    unbiased for the true share, and its variance is the sum of the groups'
    ``n·m(1 - m)/(p - q)²`` over ``N²``.
    """
    total = sum(n for _, n, _ in groups)
    if total <= 0:
        raise ValueError("no reports to estimate from")
    summed = 0.0
    variance = 0.0
    for ones, n, epsilon in groups:
        if n <= 0:
            continue
        p = keep_probability(epsilon)
        gap = 2.0 * p - 1.0  # p - q
        mean = ones / n
        summed += (ones - (1.0 - p) * n) / gap
        variance += n * mean * (1.0 - mean) / (gap * gap)
    estimate = summed / total
    variance /= total * total
    half = Z_95 * math.sqrt(variance)
    return Estimate(estimate, variance, max(0.0, estimate - half), min(1.0, estimate + half))


def wilson(successes: int, n: int) -> Estimate:
    """The share ``successes / n`` with its 95 % Wilson score interval (for
    plain, unrandomized proportions: the ``unlinkable`` mode).

    >>> est = wilson(30, 100)
    >>> round(est.low, 4), round(est.high, 4)
    (0.2189, 0.3958)
    """
    if n <= 0:
        raise ValueError("no reports to estimate from")
    share = successes / n
    z2 = Z_95 * Z_95
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Estimate(share, share * (1 - share) / n, low, high)


def report_epsilon(epsilon: float, *, independent_bits: int, one_hot_blocks: int) -> float:
    """The ε of a whole report by sequential composition: ε for each bit that
    may take any value independently of the others, 2ε for each one-hot block
    (whatever its width: two inputs differ in at most two of its bits)."""
    return epsilon * (independent_bits + 2 * one_hot_blocks)


class PermanentResponse:
    """Randomized response memoized per (position, true value), drawn up front.

    A report built several times in one session (periodic snapshots) must not
    re-randomize a bit that did not change, or the noise would average away.
    This draws, once, a keep/flip decision for each position and each of its
    two possible values (``2·size`` draws of ``rng.random()``, whatever the
    data); :meth:`respond` then answers the same for the same input.  Across
    all snapshots a position is thus randomized at most twice (once per value).

    >>> import random
    >>> noise = PermanentResponse(1.0986122886681098, 3, random.Random(0))
    >>> [noise.respond(i, 1) for i in range(3)] == [noise.respond(i, 1) for i in range(3)]
    True
    """

    __slots__ = ("_keep",)

    def __init__(self, epsilon: float, size: int, rng: random.Random) -> None:
        p = keep_probability(epsilon)
        self._keep = [(rng.random() < p, rng.random() < p) for _ in range(size)]

    def respond(self, position: int, bit: int) -> int:
        """The randomized response at ``position`` for the true ``bit``."""
        return bit if self._keep[position][bit] else 1 - bit
