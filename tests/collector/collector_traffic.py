"""Simulated traffic for the collector's statistical tests: binomial draws
without NumPy, randomized-response counts, and AggregateBuilder sessions."""

from __future__ import annotations

import math
import random
from typing import Any

from pytrigger.aggregates import AggregateBuilder
from pytrigger.collector.estimators import BitSums
from pytrigger.decisions import Decision
from pytrigger.privacy import keep_probability
from pytrigger.triggers import Privacy


def binomial(rng: random.Random, n: int, p: float) -> int:
    """A Binomial(n, p) draw: ``random.binomialvariate`` (Python 3.12+), else
    the same algorithms in Python — Devroye's geometric method for n·p < 10,
    Hörmann's BTRS (transformed rejection with squeeze) otherwise, as CPython
    3.12's ``random.binomialvariate``."""
    draw = getattr(rng, "binomialvariate", None)
    if draw is not None:
        return int(draw(n, p))
    if n < 0 or not 0 <= p <= 1:
        raise ValueError("need n >= 0 and 0 <= p <= 1")
    if p in (0.0, 1.0) or n == 0:
        return 0 if p == 0.0 else n
    if p > 0.5:
        return n - binomial(rng, n, 1.0 - p)
    if n * p < 10.0:
        x = y = 0
        c = math.log(1.0 - p)
        while True:
            y += math.floor(math.log(rng.random()) / c) + 1
            if y > n:
                return x
            x += 1
    spq = math.sqrt(n * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = math.log(p / (1.0 - p))
    m = math.floor((n + 1) * p)
    h = math.lgamma(m + 1) + math.lgamma(n - m + 1)
    while True:
        u = rng.random() - 0.5
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0 or k > n:
            continue
        v = rng.random()
        if us >= 0.07 and v <= vr:
            return k
        v *= alpha / (a / (us * us) + b)
        if math.log(v) <= h - math.lgamma(k + 1) - math.lgamma(n - k + 1) + (k - m) * lpq:
            return k


def randomized_pairs(
    rng: random.Random, n: int, exposed: int, converted: int, epsilon: float
) -> tuple[int, int, int]:
    """``n`` reports whose true (exposure, goal) bits are (``exposed``,
    ``converted``), each bit through randomized response: the counts of
    randomized exposure ones, goal ones, and both (a multinomial draw)."""
    keep = keep_probability(epsilon)
    a = keep if exposed else 1 - keep  # P(randomized exposure bit = 1)
    b = keep if converted else 1 - keep
    cells = [a * b, a * (1 - b), (1 - a) * b]
    counts, left, mass = [], n, 1.0
    for share in cells:
        drawn = binomial(rng, left, min(1.0, share / mass)) if mass > 0 else 0
        counts.append(drawn)
        left -= drawn
        mass -= share
    both, only_exposure, only_goal = counts
    return both + only_exposure, both + only_goal, both


def arm_bits(n: int, epsilon: float, ones: tuple[int, int, int]) -> BitSums:
    """An arm's ldp sums from ``randomized_pairs``'s counts."""
    exposure, goal, both = ones
    return BitSums(
        n=n,
        epsilon=epsilon,
        sums={"exposure": exposure, "goal": goal},
        products={("exposure", "exposure"): exposure, ("goal", "goal"): goal,
                  ("exposure", "goal"): both},
    )  # fmt: skip


EXPERIMENT: list[tuple[str, list[str | None]]] = [("search", ["A", "B"])]


def session(
    site: str, privacy: Privacy, arm: str, converts: bool, hour: int, rng: random.Random
) -> dict[str, Any]:
    """One page session's report: ``search`` exposed in ``arm`` and fired,
    with a goal when ``converts``."""
    builder = AggregateBuilder(site, privacy, EXPERIMENT)
    builder.exposure("search", arm)
    builder.decision(Decision(1.0, "search", "fire", variant=arm))
    builder.latency("search", arm, 30.0, replayed=False)
    if converts:
        builder.goal("signup")
    return builder.build(hour * 3_600_000.0, rng)
