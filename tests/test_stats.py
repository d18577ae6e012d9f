"""pytrigger.stats: the small estimators (running median, EW mean, trailing sum)."""

from __future__ import annotations

import doctest
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytrigger import stats
from pytrigger.stats import EWMean, RunningMedian, TrailingSum

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


def test_doctests() -> None:
    assert doctest.testmod(stats).failed == 0


# -- RunningMedian -------------------------------------------------------------


@given(st.lists(finite, min_size=1, max_size=200))
def test_running_median_is_exact_after_every_sample(xs: list[float]) -> None:
    median = RunningMedian()
    for i, x in enumerate(xs, 1):
        assert median.update(x) is median
        assert len(median) == i
        assert median.get() == statistics.median(xs[:i])


@given(st.lists(st.integers(-50, 50), min_size=1, max_size=100))
def test_running_median_with_many_ties(xs: list[int]) -> None:
    median = RunningMedian()
    for i, x in enumerate(xs, 1):
        median.update(float(x))
        assert median.get() == statistics.median(xs[:i])


@pytest.mark.parametrize("warmup", [1, 2, 5])
def test_running_median_is_none_until_warm(warmup: int) -> None:
    median = RunningMedian(warmup=warmup)
    assert median.get() is None
    for x in range(1, warmup):
        median.update(float(x))
        assert median.get() is None
    median.update(float(warmup))
    assert median.get() == statistics.median(range(1, warmup + 1))


def test_running_median_warmup_zero_is_still_none_when_empty() -> None:
    median = RunningMedian(warmup=0)
    assert median.get() is None
    assert median.update(7.0).get() == 7.0


def test_running_median_even_count_is_the_mean_of_the_middle_two() -> None:
    median = RunningMedian()
    for x in (100.0, 500.0, 200.0, 400.0):
        median.update(x)
    assert median.get() == 300.0


# -- EWMean --------------------------------------------------------------------


def test_ew_mean_hand_computed() -> None:
    mean = EWMean(alpha=0.5)
    assert mean.get() is None
    assert mean.update(10.0).get() == 10.0  # the first sample is the mean
    assert mean.update(20.0).get() == 15.0
    assert mean.update(0.0).get() == 7.5
    assert mean.update(7.5).get() == 7.5


def test_ew_mean_warmup() -> None:
    mean = EWMean(alpha=0.25, warmup=3)
    mean.update(4.0).update(8.0)
    assert mean.get() is None
    assert mean.update(8.0).get() == pytest.approx(4.0 + 0.25 * 4.0 + 0.25 * (8.0 - 5.0))


def test_ew_mean_alpha_one_is_the_last_sample() -> None:
    mean = EWMean(alpha=1.0)
    for x in (3.0, -1.0, 9.5):
        assert mean.update(x).get() == x


@pytest.mark.parametrize("alpha", [0.0, -0.1, 1.01])
def test_ew_mean_rejects_alpha_outside_0_1(alpha: float) -> None:
    with pytest.raises(ValueError):
        EWMean(alpha=alpha)


@given(st.lists(finite, min_size=1, max_size=50), st.floats(0.01, 1.0))
def test_ew_mean_stays_within_the_samples(xs: list[float], alpha: float) -> None:
    mean = EWMean(alpha=alpha)
    for x in xs:
        mean.update(x)
    value = mean.get()
    assert value is not None
    assert min(xs) - 1e-6 <= value <= max(xs) + 1e-6


# -- TrailingSum ---------------------------------------------------------------


def window_300() -> TrailingSum:
    return TrailingSum(300.0).update(10.0, t=100.0).update(5.0, t=350.0)


@pytest.mark.parametrize(
    ("t", "total", "count"),
    [
        (350.0, 15.0, 2),  # (50, 350]: the sample at t itself is in (closed right end)
        (399.0, 15.0, 2),
        (399.999, 15.0, 2),
        (400.0, 5.0, 1),  # 100 leaves at exactly 100 + 300 (open left end)
        (649.999, 5.0, 1),
        (650.0, 0.0, 0),
        (10_000.0, 0.0, 0),
    ],
)
def test_trailing_sum_half_open_window(t: float, total: float, count: int) -> None:
    window = window_300()
    assert window.at(t) == total
    assert window.count(t) == count


@pytest.mark.parametrize(
    ("t", "expiry"),
    [(350.0, 400.0), (399.999, 400.0), (400.0, 650.0), (649.0, 650.0), (650.0, None)],
)
def test_trailing_sum_next_expiry(t: float, expiry: float | None) -> None:
    assert window_300().next_expiry(t) == expiry


def test_trailing_sum_get_is_the_sum_at_the_last_update() -> None:
    window = TrailingSum(300.0)
    assert window.get() == 0.0
    assert window.last_time() is None
    window.update(10.0, t=100.0).update(5.0, t=400.0)  # 100 has left at 400
    assert window.get() == 5.0
    assert window.last_time() == 400.0


@pytest.mark.parametrize("w", [0.0, -5.0])
def test_trailing_sum_rejects_non_positive_window(w: float) -> None:
    with pytest.raises(ValueError):
        TrailingSum(w)


@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(-100, 100)), max_size=40),
    st.integers(1, 300),
    st.integers(0, 400),
)
def test_trailing_sum_matches_brute_force(steps: list[tuple[int, int]], w: int, later: int) -> None:
    window = TrailingSum(float(w))
    samples: list[tuple[float, float]] = []
    t = 0.0
    for dt, x in steps:
        t += dt
        window.update(float(x), t)
        samples.append((t, float(x)))
    for query in (t, t + later):
        inside = [x for ts, x in samples if query - w < ts <= query]
        assert window.at(query) == sum(inside)
        assert window.count(query) == len(inside)
        expiries = [ts + w for ts, _ in samples if ts + w > query]
        assert window.next_expiry(query) == (min(expiries) if expiries else None)
