"""The estimators of the experiment report and of trigger health: arithmetic only.

Everything here works on sufficient statistics — the counts and sums that the
SQL queries of :mod:`.experiment_report` and :mod:`.health_report` return —
so the statistical tests can feed it simulated counts and check the very
functions the API uses.  Standard library only; docs/experiments.md states
every formula.

- :class:`BitSums`, :func:`mean_of`, :func:`covariance_of`: the mean over
  reports of a per-report unbiased value — randomized-response debiasing
  (:mod:`pytrigger.privacy`) generalized to a per-report *sum* of bits (a
  trigger's arms) and to covariances between two fields;
- :func:`ratio`: a ratio of two estimated shares, by the delta method;
- :func:`difference`, :func:`relative_lift`: an arm against the control;
- :func:`msprt_p_value`: the always-valid p-value of a mixture SPRT;
- :func:`chi2_sf`, :func:`pearson_srm`, :func:`wald_srm`: sample-ratio mismatch;
- :func:`histogram_quantile`: a quantile of a bucketed histogram.

>>> round(chi2_sf(3.841458820694124, 1), 6)
0.05
>>> est = relative_lift(0.114, 0.114 * 0.886 / 20_000, 0.1, 0.1 * 0.9 / 20_000)
>>> round(est.estimate, 4), round(est.low, 4), round(est.high, 4)
(0.14, 0.0771, 0.2066)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pytrigger.aggregates import LATENCY_EDGES_MS
from pytrigger.privacy import Z_95, Estimate, keep_probability

__all__ = [
    "BitSums",
    "chi2_sf",
    "covariance_of",
    "difference",
    "histogram_quantile",
    "mean_of",
    "msprt_p_value",
    "pearson_srm",
    "ratio",
    "relative_lift",
    "share_of",
    "wald_srm",
]


@dataclass(frozen=True, slots=True)
class BitSums:
    """Sums over ``n`` reports of per-report values ``s_x``.

    ``s_x`` is the sum of ``k·widths[x]`` bits of field ``x`` in one report
    (``k`` entries: a trigger's arms, 1 for one entry; ``widths[x]`` bits per
    entry, 1 unless given: a field may sum a block), each randomized with
    ``epsilon`` (``None``: not randomized — plain values, which may also be
    counts).  ``sums[x]`` is Σ s_x; ``products[(x, y)]``, with ``x <= y``,
    is Σ s_x·s_y (squares included): what a variance or covariance needs."""

    n: int
    epsilon: float | None
    sums: Mapping[str, float]
    products: Mapping[tuple[str, str], float] = field(default_factory=dict)
    k: int = 1
    widths: Mapping[str, int] = field(default_factory=dict)

    def _gap_and_flip(self) -> tuple[float, float]:
        if self.epsilon is None:
            return 1.0, 0.0
        p = keep_probability(self.epsilon)
        return 2.0 * p - 1.0, 1.0 - p

    def product(self, x: str, y: str) -> float:
        return self.products[(x, y) if x <= y else (y, x)]


def mean_of(groups: Sequence[BitSums], x: str) -> float:
    """The mean over all reports of ``z_x = (s_x - k·w·q) / (p - q)`` (``w``
    the field's width): unbiased for the mean of the true (unrandomized)
    ``s_x``."""
    total = sum(g.n for g in groups)
    if total <= 0:
        raise ValueError("no reports to estimate from")
    summed = 0.0
    for g in groups:
        gap, flip = g._gap_and_flip()
        summed += (g.sums[x] - g.n * g.k * g.widths.get(x, 1) * flip) / gap
    return summed / total


def covariance_of(groups: Sequence[BitSums], x: str, y: str) -> float:
    """The estimated covariance of ``mean_of(groups, x)`` and ``mean_of(groups, y)``:
    Σ over groups of ``n·c(s_x, s_y) / (p - q)²``, over N², where ``c`` is the
    group's (biased) sample covariance — for one bit, :func:`pytrigger.privacy.debias_groups`'s
    variance."""
    total = sum(g.n for g in groups)
    if total <= 0:
        raise ValueError("no reports to estimate from")
    summed = 0.0
    for g in groups:
        if g.n <= 0:
            continue
        gap, _ = g._gap_and_flip()
        mean_x, mean_y = g.sums[x] / g.n, g.sums[y] / g.n
        c = g.product(x, y) / g.n - mean_x * mean_y
        summed += g.n * c / (gap * gap)
    return summed / (total * total)


def _interval(
    estimate: float, variance: float, low: float = -math.inf, high: float = math.inf
) -> Estimate:
    half = Z_95 * math.sqrt(max(variance, 0.0))
    return Estimate(estimate, variance, max(low, estimate - half), min(high, estimate + half))


def share_of(groups: Sequence[BitSums], x: str) -> Estimate:
    """The debiased share of reports whose field ``x`` is set (summed over
    the ``k`` entries), with its normal 95 % interval clipped to [0, 1]."""
    return _interval(mean_of(groups, x), covariance_of(groups, x, x), 0.0, 1.0)


def ratio(
    numerator: float,
    denominator: float,
    var_numerator: float,
    var_denominator: float,
    covariance: float,
    *,
    low: float = 0.0,
    high: float = 1.0,
) -> Estimate | None:
    """``numerator / denominator`` with its delta-method variance
    ``(V_n - 2·R·C + R²·V_d) / d²`` and 95 % interval (clipped to
    ``[low, high]``).  ``None`` unless the denominator is significantly
    positive (its own interval excludes 0): a ratio over a share that may be
    zero says nothing.

    >>> est = ratio(0.05, 0.5, 1e-6, 4e-6, 1e-6)
    >>> round(est.estimate, 4), round(est.variance, 8)
    (0.1, 3.36e-06)
    >>> ratio(0.01, 0.001, 1e-6, 1e-6, 0.0) is None
    True
    """
    if denominator <= 0 or denominator - Z_95 * math.sqrt(max(var_denominator, 0.0)) <= 0:
        return None
    r = numerator / denominator
    variance = (var_numerator - 2 * r * covariance + r * r * var_denominator) / (
        denominator * denominator
    )
    return _interval(r, max(variance, 0.0), low, high)


def difference(treatment: Estimate, control: Estimate) -> Estimate:
    """``treatment - control`` of two independent estimates, with a normal
    interval (the arms are disjoint sets of sessions)."""
    return _interval(
        treatment.estimate - control.estimate, treatment.variance + control.variance, -1.0, 1.0
    )


def relative_lift(
    treatment: float, var_treatment: float, control: float, var_control: float
) -> Estimate | None:
    """``treatment / control - 1`` with a 95 % interval from the delta method
    on the log ratio: ``Var(ln(t/c)) = V_t/t² + V_c/c²``, the interval
    ``exp(ln(t/c) ± 1.96·sd) - 1`` (asymmetric, always above -1).  The
    ``variance`` given is the lift's own, ``(t/c)²·Var(ln(t/c))``.  ``None``
    when either rate is not positive (the log ratio is undefined).

    >>> relative_lift(0.1, 1e-5, 0.0, 1e-5) is None
    True
    """
    if treatment <= 0 or control <= 0:
        return None
    log_ratio = math.log(treatment / control)
    var_log = var_treatment / treatment**2 + var_control / control**2
    half = Z_95 * math.sqrt(max(var_log, 0.0))
    if log_ratio + half > 700:  # exp would overflow: no useful upper bound
        return None
    lift = treatment / control - 1.0
    return Estimate(
        lift,
        (lift + 1.0) ** 2 * var_log,
        math.exp(log_ratio - half) - 1.0,
        math.exp(log_ratio + half) - 1.0,
    )


def msprt_p_value(delta: float, variance: float, tau: float) -> float:
    """The mixture SPRT's p-value for "no difference" at this look:
    ``min(1, 1/Λ)`` with ``Λ = sqrt(V/(V+τ²))·exp(τ²Δ²/(2V(V+τ²)))``, for an
    estimated difference ``Δ`` with variance ``V`` and a normal mixing
    distribution N(0, τ²) over the true difference (Johari et al., "Always
    Valid Inference", 2017).  The always-valid p-value is the running
    minimum of this over the looks: the caller keeps it.

    >>> round(msprt_p_value(0.0, 1e-4, 0.02), 4)   # no difference: Λ < 1
    1.0
    >>> round(msprt_p_value(0.014, 9.55e-6, 0.02), 6)
    0.000291
    """
    if not tau > 0:
        raise ValueError(f"tau must be positive, not {tau!r}")
    if not variance > 0:
        return 1.0
    t2 = tau * tau
    log_lambda = 0.5 * math.log(variance / (variance + t2)) + t2 * delta * delta / (
        2.0 * variance * (variance + t2)
    )
    return 1.0 if log_lambda <= 0 else math.exp(-log_lambda)


def chi2_sf(x: float, df: int) -> float:
    """P(χ²(df) ≥ x), in closed form for an integer ``df`` (no SciPy):
    ``e^(-x/2)·Σ_{i<df/2} (x/2)^i/i!`` for an even ``df``; for an odd one
    ``erfc(sqrt(x/2)) + sqrt(2/π)·e^(-x/2)·Σ_{r=1}^{(df-1)/2} x^(r-1/2)/(1·3···(2r-1))``.

    >>> round(chi2_sf(2.0, 2), 6), round(chi2_sf(3.0, 3), 6)
    (0.367879, 0.391625)
    """
    if df < 1:
        raise ValueError("df must be at least 1")
    if x <= 0:
        return 1.0
    half = x / 2.0
    log_half = math.log(half)
    # the series' terms in log space: no overflow for a huge x or df
    if df % 2 == 0:
        total = sum(math.exp(i * log_half - math.lgamma(i + 1) - half) for i in range(df // 2))
        return min(1.0, total)
    series = 0.0
    for r in range(1, (df - 1) // 2 + 1):
        # x^(r - 1/2) / (2r - 1)!!, with (2r - 1)!! = (2r)! / (2^r · r!)
        log_double_factorial = math.lgamma(2 * r + 1) - r * math.log(2.0) - math.lgamma(r + 1)
        series += math.exp(
            (r - 0.5) * math.log(x) - log_double_factorial - half + 0.5 * math.log(2.0 / math.pi)
        )
    return min(1.0, math.erfc(math.sqrt(half)) + series)


def _normalized(weights: Sequence[float], k: int) -> list[float]:
    if len(weights) != k or any(not w > 0 for w in weights):
        raise ValueError(f"expected {k} positive weights, not {list(weights)!r}")
    total = sum(weights)
    return [w / total for w in weights]


def pearson_srm(observed: Sequence[float], weights: Sequence[float]) -> tuple[float, int, float]:
    """Pearson's χ² of counts against the shares ``weights`` (normalized):
    ``(statistic, df, p-value)``.

    >>> statistic, df, p = pearson_srm([5_100, 4_900], [0.5, 0.5])
    >>> statistic, df, round(p, 4)
    (4.0, 1, 0.0455)
    """
    shares = _normalized(weights, len(observed))
    total = sum(observed)
    if total <= 0:
        raise ValueError("no observations")
    statistic = sum(
        (o - w * total) ** 2 / (w * total) for o, w in zip(observed, shares, strict=True)
    )
    df = len(observed) - 1
    return statistic, df, chi2_sf(statistic, df)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """``matrix⁻¹·vector`` by Gaussian elimination with partial pivoting
    (``None`` when singular)."""
    size = len(vector)
    rows = [[*row, value] for row, value in zip(matrix, vector, strict=True)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(rows[r][col]))
        if abs(rows[pivot][col]) < 1e-300:
            return None
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(size):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][size] / rows[i][i] for i in range(size)]


def wald_srm(
    shares: Sequence[float], covariance: Sequence[Sequence[float]], weights: Sequence[float]
) -> tuple[float, int, float] | None:
    """A Wald test that estimated shares ``π`` are proportional to
    ``weights``, for estimates (debiased shares) whose covariance matrix is
    given: the ``k - 1`` contrasts ``d_i = π_i - w_i·Σπ``, ``W = dᵀ(AΣAᵀ)⁻¹d``
    with ``A = I - w·1ᵀ`` (first ``k - 1`` rows), against χ²(k - 1).
    ``(statistic, df, p-value)``, or ``None`` when the covariance is singular.

    >>> statistic, df, p = wald_srm([0.26, 0.24], [[1e-4, 0.0], [0.0, 1e-4]], [1, 1])
    >>> round(statistic, 6), df, round(p, 4)
    (2.0, 1, 0.1573)
    """
    k = len(shares)
    w = _normalized(weights, k)
    total = sum(shares)
    a = [[(1.0 if i == j else 0.0) - w[i] for j in range(k)] for i in range(k - 1)]
    d = [shares[i] - w[i] * total for i in range(k - 1)]
    a_sigma = [
        [sum(a[i][m] * covariance[m][j] for m in range(k)) for j in range(k)] for i in range(k - 1)
    ]
    cov_d = [
        [sum(a_sigma[i][m] * a[j][m] for m in range(k)) for j in range(k - 1)] for i in range(k - 1)
    ]
    solved = _solve(cov_d, d)
    if solved is None:
        return None
    statistic = max(0.0, sum(di * si for di, si in zip(d, solved, strict=True)))
    return statistic, k - 1, chi2_sf(statistic, k - 1)


#: the latency buckets' [low, high) edges in ms; the last is open (high None)
BUCKET_EDGES: tuple[tuple[float, float | None], ...] = tuple(
    zip((0.0, *map(float, LATENCY_EDGES_MS)), (*map(float, LATENCY_EDGES_MS), None), strict=True)
)


def histogram_quantile(masses: Sequence[float], q: float) -> float | None:
    """The ``q``-quantile of a histogram over :data:`BUCKET_EDGES` (masses per
    bucket; negative ones — a debiased estimate's noise — count as 0),
    interpolated linearly inside its bucket, as Prometheus'
    ``histogram_quantile`` does.  A quantile in the open last bucket is its
    lower edge, 4096 ms ("at least").  ``None`` for an empty histogram.

    >>> histogram_quantile([0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 0, 0, 0, 0], 0.5)
    256.0
    >>> histogram_quantile([0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 0, 0, 0, 0], 0.99)
    506.88
    """
    if not 0 <= q <= 1 or len(masses) != len(BUCKET_EDGES):
        raise ValueError("q must be in [0, 1] and one mass given per bucket")
    clipped = [max(0.0, float(m)) for m in masses]
    total = sum(clipped)
    if total <= 0:
        return None
    target = q * total
    seen = 0.0
    last = max(i for i, m in enumerate(clipped) if m > 0)
    for i, mass in enumerate(clipped):
        if mass <= 0:
            continue
        if seen + mass >= target or i == last:
            low, high = BUCKET_EDGES[i]
            if high is None:
                return low
            return low + (high - low) * min(1.0, max(0.0, (target - seen) / mass))
        seen += mass
    raise AssertionError("unreachable: the last non-empty bucket returns")
