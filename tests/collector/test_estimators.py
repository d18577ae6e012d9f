"""The estimators of the experiment report and trigger health
(pytrigger.collector.estimators): hand-computed values on small fake data."""

from __future__ import annotations

import math

import pytest

from pytrigger.collector.estimators import (
    BitSums,
    chi2_sf,
    covariance_of,
    difference,
    histogram_quantile,
    mean_of,
    msprt_p_value,
    pearson_srm,
    ratio,
    relative_lift,
    share_of,
    wald_srm,
)
from pytrigger.privacy import Z_95, Estimate, debias_groups

LN3 = math.log(3)  # keeps a bit with p = 3/4: q = 1/4, p - q = 1/2


def bits(n: int, ones: int, epsilon: float | None = LN3) -> BitSums:
    return BitSums(n=n, epsilon=epsilon, sums={"x": ones}, products={("x", "x"): ones})


def test_one_bit_is_debias_groups() -> None:
    groups = [bits(10_000, 5_500), bits(4_000, 1_000, 2.0)]
    expected = debias_groups([(5_500, 10_000, LN3), (1_000, 4_000, 2.0)])
    assert mean_of(groups, "x") == pytest.approx(expected.estimate)
    assert covariance_of(groups, "x", "x") == pytest.approx(expected.variance)
    # by hand: m = 0.55, (0.55 - 0.25) / 0.5 = 0.6, variance 0.55·0.45 / (10,000·0.25)
    one = share_of([bits(10_000, 5_500)], "x")
    assert one.estimate == pytest.approx(0.6)
    assert one.variance == pytest.approx(0.55 * 0.45 / 2_500)
    assert one.low == pytest.approx(0.6 - Z_95 * math.sqrt(0.55 * 0.45 / 2_500))


def test_sums_of_several_bits_per_report() -> None:
    """Four reports, two entries (arms) each, randomized with ln 3; the
    per-report sums s = 0, 1, 2, 1: Σs = 4, Σs² = 6."""
    group = BitSums(n=4, epsilon=LN3, k=2, sums={"x": 4}, products={("x", "x"): 6})
    # z = (s - 2·0.25) / 0.5: -1, 1, 3, 1 -> mean 1
    assert mean_of([group], "x") == pytest.approx(1.0)
    # sample variance of s (biased): 6/4 - 1 = 0.5; of the mean of z: 4·0.5/0.25/16
    assert covariance_of([group], "x", "x") == pytest.approx(0.5)
    # a field summing a block of 3 bits per entry: its offset is 2·3·q
    block = BitSums(n=4, epsilon=LN3, k=2, sums={"x": 4}, widths={"x": 3})
    assert mean_of([block], "x") == pytest.approx((4 - 4 * 2 * 3 * 0.25) / 0.5 / 4)


def test_plain_values_and_covariances() -> None:
    """Not randomized: values 1, 2, 3 and 2, 2, 5 — the mean and the
    covariance of the means are the plain ones (biased, over n, then / n)."""
    group = BitSums(
        n=3,
        epsilon=None,
        sums={"a": 6, "b": 9},
        products={("a", "a"): 14, ("b", "b"): 33, ("a", "b"): 21},
    )
    assert mean_of([group], "a") == 2.0
    # cov(a, b) = 21/3 - 2·3 = 1; over n: 1/3
    assert covariance_of([group], "a", "b") == pytest.approx(1 / 3)
    assert covariance_of([group], "b", "a") == pytest.approx(1 / 3)
    assert covariance_of([group], "a", "a") == pytest.approx((14 / 3 - 4) / 3)
    with pytest.raises(ValueError):
        mean_of([], "a")


def test_ratio_by_the_delta_method() -> None:
    est = ratio(0.05, 0.5, 1e-6, 4e-6, 1e-6)
    assert est is not None
    # (1e-6 - 2·0.1·1e-6 + 0.01·4e-6) / 0.25
    assert est.estimate == pytest.approx(0.1)
    assert est.variance == pytest.approx(3.36e-6)
    assert est.low == pytest.approx(0.1 - Z_95 * math.sqrt(3.36e-6))
    assert est.high == pytest.approx(0.1 + Z_95 * math.sqrt(3.36e-6))
    # a denominator whose interval holds 0 gives no ratio
    assert ratio(0.01, 0.001, 1e-6, 1e-6, 0.0) is None
    assert ratio(0.01, 0.0, 1e-6, 0.0, 0.0) is None
    # clipped to [0, 1] by default, not otherwise
    wide = ratio(0.5, 0.5, 0.01, 1e-6, 0.0)
    assert wide is not None and wide.high == 1.0
    loose = ratio(0.5, 0.5, 0.01, 1e-6, 0.0, high=math.inf)
    assert loose is not None and loose.high > 1.0


def test_difference_adds_the_variances() -> None:
    est = difference(Estimate(0.12, 4e-4, 0, 1), Estimate(0.10, 5e-4, 0, 1))
    assert est.estimate == pytest.approx(0.02)
    assert est.variance == pytest.approx(9e-4)
    assert est.low == pytest.approx(0.02 - Z_95 * 0.03)
    assert est.high == pytest.approx(0.02 + Z_95 * 0.03)


def test_relative_lift_on_the_log_ratio() -> None:
    vt, vc = 0.114 * 0.886 / 20_000, 0.1 * 0.9 / 20_000
    est = relative_lift(0.114, vt, 0.1, vc)
    assert est is not None
    var_log = vt / 0.114**2 + vc / 0.1**2  # 3.88597e-4 + 4.5e-4
    assert var_log == pytest.approx(8.38597e-4, rel=1e-5)
    assert est.estimate == pytest.approx(0.14)
    assert est.low == pytest.approx(math.exp(math.log(1.14) - Z_95 * math.sqrt(var_log)) - 1)
    assert est.high == pytest.approx(math.exp(math.log(1.14) + Z_95 * math.sqrt(var_log)) - 1)
    assert (round(est.low, 4), round(est.high, 4)) == (0.0771, 0.2066)
    assert est.variance == pytest.approx(1.14**2 * var_log)
    assert relative_lift(0.1, 1e-5, 0.0, 0.0) is None
    assert relative_lift(-0.01, 1e-5, 0.1, 1e-5) is None
    assert relative_lift(0.1, 1e6, 0.1, 1e6) is None  # no finite upper bound


def test_msprt_p_value() -> None:
    v, tau = 9.55e-6, 0.02
    t2 = tau * tau
    # Λ = sqrt(V/(V+τ²)) · exp(τ²Δ²/(2V(V+τ²))), by hand: 0.152703 · e^10.0225
    lam = math.sqrt(v / (v + t2)) * math.exp(t2 * 0.014**2 / (2 * v * (v + t2)))
    assert lam == pytest.approx(3437.5, rel=1e-3)
    assert msprt_p_value(0.014, v, tau) == pytest.approx(1 / lam)
    assert msprt_p_value(-0.014, v, tau) == pytest.approx(1 / lam)  # two-sided
    assert msprt_p_value(0.0, v, tau) == 1.0  # Λ = sqrt(V/(V+τ²)) < 1
    assert msprt_p_value(0.01, 0.0, tau) == 1.0  # no variance: no evidence
    ps = [msprt_p_value(d, v, tau) for d in (0.004, 0.008, 0.012, 0.016)]
    assert ps == sorted(ps, reverse=True)
    with pytest.raises(ValueError):
        msprt_p_value(0.01, v, 0.0)


@pytest.mark.parametrize(
    ("x", "df", "p"),
    [
        (3.841458820694124, 1, 0.05),
        (2.0, 2, math.exp(-1)),
        (3.0, 3, 0.3916251762710877),
        (9.487729036781154, 4, 0.05),
        (11.070497693516351, 5, 0.05),
        (18.307038053275146, 10, 0.05),
        (0.0, 3, 1.0),
        (1e8, 128, 0.0),  # no overflow in the series, even or odd
        (1e8, 127, 0.0),
    ],
)
def test_chi2_sf(x: float, df: int, p: float) -> None:
    assert chi2_sf(x, df) == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_pearson_srm() -> None:
    statistic, df, p = pearson_srm([5_100, 4_900], [0.5, 0.5])
    assert statistic == pytest.approx(4.0) and df == 1  # 2 · 100² / 5,000
    assert p == pytest.approx(math.erfc(math.sqrt(2.0)))
    assert pearson_srm([5_100, 4_900], [1, 1]) == (statistic, df, p)  # weights are normalized
    assert pearson_srm([2_000, 8_000], [0.2, 0.8])[0] == pytest.approx(0.0)
    with pytest.raises(ValueError):
        pearson_srm([1, 2], [0.5, 0.0])
    with pytest.raises(ValueError):
        pearson_srm([1, 2, 3], [0.5, 0.5])


def test_wald_srm() -> None:
    stat = wald_srm([0.26, 0.24], [[1e-4, 0.0], [0.0, 1e-4]], [1, 1])
    assert stat is not None
    # d = 0.26 - 0.5·0.5 = 0.01; Var(d) = 0.25·1e-4 + 0.25·1e-4
    assert stat[0] == pytest.approx(2.0) and stat[1] == 1
    # three arms, independent, σ² = 1e-4: W = Σ (π_i - π̄)² / σ² = 6/900 · 1e4
    three = wald_srm([0.3, 0.3, 0.4], [[1e-4, 0, 0], [0, 1e-4, 0], [0, 0, 1e-4]], [1, 1, 1])
    assert three is not None
    assert three[0] == pytest.approx(200 / 3) and three[1] == 2
    assert three[2] == pytest.approx(math.exp(-100 / 3))
    assert wald_srm([0.25, 0.25], [[0.0, 0.0], [0.0, 0.0]], [1, 1]) is None  # singular


def test_histogram_quantile() -> None:
    buckets = [0.0] * 14
    buckets[8], buckets[9] = 4, 4  # [128, 256) and [256, 512)
    assert histogram_quantile(buckets, 0.5) == pytest.approx(256.0)
    assert histogram_quantile(buckets, 0.25) == pytest.approx(192.0)
    assert histogram_quantile(buckets, 0.99) == pytest.approx(256 + 256 * 3.92 / 4)
    assert histogram_quantile([1.0] + [0.0] * 13, 0.5) == pytest.approx(0.5)  # [0, 1) ms
    assert histogram_quantile([0.0] * 13 + [5.0], 0.5) == 4096.0  # "at least 4096 ms"
    assert histogram_quantile([0.0] * 14, 0.5) is None
    noisy = [-0.02] * 14
    noisy[3] = 0.5  # [4, 8): negative (debiased) masses count as none
    assert histogram_quantile(noisy, 0.5) == pytest.approx(6.0)
    with pytest.raises(ValueError):
        histogram_quantile([1.0] * 3, 0.5)
