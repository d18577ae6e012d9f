"""Randomized response, its debiasing and the intervals (pytrigger.privacy)."""

from __future__ import annotations

import math
import random

import pytest

from pytrigger.privacy import (
    PermanentResponse,
    debias,
    debias_groups,
    keep_probability,
    randomize_bit,
    report_epsilon,
    wilson,
)

LN3 = math.log(3)


def test_keep_probability() -> None:
    assert keep_probability(LN3) == pytest.approx(0.75)
    assert keep_probability(1e-9) == pytest.approx(0.5)
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            keep_probability(bad)


def test_randomize_bit_draws_exactly_once_whatever_the_bit() -> None:
    for bit in (0, 1):
        rng, twin = random.Random(3), random.Random(3)
        randomize_bit(bit, LN3, rng)
        twin.random()
        assert rng.random() == twin.random()


@pytest.mark.parametrize("epsilon", [0.5, LN3, 2.0])
def test_empirical_privacy_loss_of_one_bit_matches_epsilon(epsilon: float) -> None:
    """ln of the likelihood ratio of each output between the two inputs is ε
    (within 10 %): that is exactly ε-local differential privacy for a bit."""
    rng = random.Random(20240601)
    n = 100_000
    ones_given_1 = sum(randomize_bit(1, epsilon, rng) for _ in range(n)) / n
    ones_given_0 = sum(randomize_bit(0, epsilon, rng) for _ in range(n)) / n
    loss_one = math.log(ones_given_1 / ones_given_0)
    loss_zero = math.log((1 - ones_given_0) / (1 - ones_given_1))
    assert loss_one == pytest.approx(epsilon, rel=0.10)
    assert loss_zero == pytest.approx(epsilon, rel=0.10)


def test_debias_known_values() -> None:
    # 0.6 true share, p = 3/4: expected randomized mean 0.25 + 0.5 * 0.6 = 0.55
    est = debias(5_500, 10_000, LN3)
    assert est.estimate == pytest.approx(0.6)
    assert est.variance == pytest.approx(0.55 * 0.45 / (10_000 * 0.25))
    assert est.low == pytest.approx(0.6 - 1.959963984540054 * math.sqrt(est.variance))
    assert debias(0, 100, LN3).low == 0.0  # the interval is clipped to [0, 1]
    assert debias(0, 100, LN3).estimate == pytest.approx(-0.5)  # the estimate is not
    with pytest.raises(ValueError):
        debias(0, 0, LN3)


def test_debias_groups_pools_epsilons() -> None:
    one = debias(550, 1000, LN3)
    pooled = debias_groups([(550, 1000, LN3), (0, 0, 2.0)])
    assert pooled == one
    p2 = keep_probability(2.0)
    mixed = debias_groups(
        [(550, 1000, LN3), (round(1000 * (1 - p2 + (2 * p2 - 1) * 0.6)), 1000, 2.0)]
    )
    assert mixed.estimate == pytest.approx(0.6, abs=1e-3)
    assert mixed.variance < one.variance


def test_debias_is_precise_for_a_tiny_epsilon() -> None:
    est = debias(5_001, 10_000, 0.01)
    assert math.isfinite(est.estimate) and math.isfinite(est.variance)


def test_debiased_intervals_cover_the_truth_95_percent_of_the_time() -> None:
    """Coverage, checked properly: over 1,000 independent samples of 2,000
    reports, the 95 % interval holds the true share in 93-97 % of them."""
    rng = random.Random(7)
    truth, n, trials = 0.3, 2_000, 1_000
    p = keep_probability(LN3)
    covered = 0
    for _ in range(trials):
        ones = 0
        for _ in range(n):
            bit = rng.random() < truth
            ones += bit if rng.random() < p else not bit
        est = debias(ones, n, LN3)
        covered += est.low <= truth <= est.high
    assert 0.93 <= covered / trials <= 0.97


def test_wilson() -> None:
    est = wilson(30, 100)
    assert (round(est.low, 4), round(est.high, 4)) == (0.2189, 0.3958)
    assert wilson(0, 50).low == 0.0 and 0 < wilson(0, 50).high < 0.08
    assert wilson(50, 50).high == 1.0
    with pytest.raises(ValueError):
        wilson(0, 0)


def test_report_epsilon_counts_one_hot_blocks_twice() -> None:
    assert report_epsilon(1.0, independent_bits=13, one_hot_blocks=1) == 15.0
    assert report_epsilon(0.5, independent_bits=0, one_hot_blocks=3) == 3.0


def test_one_hot_block_costs_two_epsilon_whatever_its_width() -> None:
    """Exhaustively over a 4-wide block: the largest likelihood ratio of any
    output between any two one-hot-or-empty inputs is e^(2ε)."""
    eps = 0.7
    p = keep_probability(eps)
    inputs = [[int(i == k) for i in range(4)] for k in range(-1, 4)]
    worst = 0.0
    for output in range(16):
        bits = [(output >> i) & 1 for i in range(4)]
        likelihoods = [
            math.prod(p if b == x else 1 - p for b, x in zip(bits, xs, strict=True))
            for xs in inputs
        ]
        worst = max(worst, max(likelihoods) / min(likelihoods))
    assert math.log(worst) == pytest.approx(2 * eps)


def test_permanent_response_is_memoized_and_data_independent() -> None:
    noise = PermanentResponse(LN3, 50, random.Random(1))
    first = [noise.respond(i, i % 2) for i in range(50)]
    assert first == [noise.respond(i, i % 2) for i in range(50)]
    rng, twin = random.Random(9), random.Random(9)
    PermanentResponse(LN3, 50, rng)
    for _ in range(100):
        twin.random()
    assert rng.random() == twin.random()
    # each (position, value) is an independent randomized response
    noise = PermanentResponse(LN3, 20_000, random.Random(2))
    kept = sum(noise.respond(i, 1) for i in range(20_000)) / 20_000
    assert kept == pytest.approx(0.75, abs=0.015)
