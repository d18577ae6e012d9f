"""The experiment report (pytrigger.collector.experiment_report): its figures
on hand-made counts, then statistically, on simulated traffic.

- With a true 14 % relative lift (10 % → 11.4 %, 20,000 sessions per arm),
  reports built by AggregateBuilder and stored by the store's own insert, the
  report finds a positive lift whose interval covers 0.14 — in both modes.
- With no true difference, 200 experiments each "checked daily" for 14 days:
  the running minimum of the mSPRT p-value (the always-valid p-value) stays
  above 0.05 in at least 95 % of them — in both modes.  Counts are simulated
  directly (binomial draws) and fed to the same functions the API uses.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from collector_traffic import arm_bits, binomial, randomized_pairs, session

from pytrigger.collector import store
from pytrigger.collector.estimators import BitSums, msprt_p_value
from pytrigger.collector.experiment_report import (
    MSPRT_TAU,
    ArmBits,
    ArmCounts,
    build_experiments,
    ldp_experiment,
    unlinkable_experiment,
)
from pytrigger.privacy import wilson
from pytrigger.triggers import Privacy

LN3 = math.log(3)


# -- figures on hand-made counts ------------------------------------------------


def test_unlinkable_figures() -> None:
    found = unlinkable_experiment(
        "search", [ArmCounts("B", 1_200, 1_000, 120), ArmCounts("A", 1_100, 1_000, 100)]
    )
    assert found["control"] == "A"  # the first arm by name, whatever the order given
    a, b = found["arms"]
    assert (a["arm"], b["arm"]) == ("A", "B")
    assert a["exposures"] == {"estimate": 1000, "low": 1000, "high": 1000, "reports": 1_100}
    assert a["conversions"] == {"estimate": 100, "low": 100, "high": 100, "reports": 1_000}
    wa, wb = wilson(100, 1_000), wilson(120, 1_000)
    assert a["conversion_rate"] == {
        "estimate": 0.1, "low": wa.low, "high": wa.high, "reports": 1_000
    }  # fmt: skip
    (compared,) = found["comparisons"]
    assert (compared["arm"], compared["control"], compared["reports"]) == ("B", "A", 1_000)
    variance = wa.variance + wb.variance  # 0.09/1000 + 0.1056/1000
    assert variance == pytest.approx(1.956e-4)
    assert compared["difference"]["estimate"] == pytest.approx(0.02)
    assert compared["difference"]["low"] == pytest.approx(0.02 - 1.959964 * math.sqrt(variance))
    assert compared["lift"]["estimate"] == pytest.approx(0.2)
    var_log = wb.variance / 0.12**2 + wa.variance / 0.1**2
    assert compared["lift"]["low"] == pytest.approx(
        math.exp(math.log(1.2) - 1.959964 * math.sqrt(var_log)) - 1, rel=1e-6
    )
    assert compared["always_valid_p"] == {
        "p": pytest.approx(msprt_p_value(0.02, variance, MSPRT_TAU)), "reports": 1_000
    }  # fmt: skip
    srm = found["srm"]
    assert srm["p"] == 1.0 and srm["srm"] is False and srm["statistic"] == 0.0
    assert srm["expected"] == [0.5, 0.5] and srm["df"] == 1 and srm["reports"] == 2_000


def test_sample_ratio_mismatch_and_weights() -> None:
    arms = [ArmCounts("A", 2_000, 2_000, 200), ArmCounts("B", 8_000, 8_000, 800)]
    equal = unlinkable_experiment("search", arms)["srm"]
    assert equal["srm"] is True and equal["p"] < 1e-100
    weighted = unlinkable_experiment("search", arms, weights=[0.2, 0.8])["srm"]
    assert weighted["srm"] is False and weighted["p"] == pytest.approx(1.0)
    assert weighted["expected"] == [0.2, 0.8]
    # weights for another number of arms are not these arms': equal shares
    three = unlinkable_experiment("search", arms, weights=[0.2, 0.3, 0.5])["srm"]
    assert three["expected"] == [0.5, 0.5]
    # 5,100 / 4,900 (χ² = 4, p = 0.046) is not a mismatch at 0.001
    near = [ArmCounts("A", 5_100, 5_100, 9), ArmCounts("B", 4_900, 4_900, 9)]
    assert unlinkable_experiment("search", near)["srm"]["srm"] is False


def test_the_50_report_floor() -> None:
    found = unlinkable_experiment(
        "search", [ArmCounts("A", 300, 49, 5), ArmCounts("B", 300, 250, 30)]
    )
    a, b = found["arms"]
    assert a["exposures"]["estimate"] == 49  # its base is the 300 reports carrying it
    assert a["conversions"] == {"withheld": True, "reports": 49}
    assert a["conversion_rate"] is None
    assert b["conversion_rate"]["reports"] == 250
    (compared,) = found["comparisons"]
    withheld = {"withheld": True, "reports": 49}
    assert compared["lift"] == compared["difference"] == compared["always_valid_p"] == withheld
    assert found["srm"] == withheld
    alone = unlinkable_experiment("search", [ArmCounts("A", 300, 200, 20)])
    assert alone["comparisons"] == [] and alone["srm"] is None


def test_a_control_without_conversions_has_no_lift() -> None:
    found = unlinkable_experiment(
        "search", [ArmCounts("A", 500, 500, 0), ArmCounts("B", 500, 500, 25)]
    )
    (compared,) = found["comparisons"]
    assert compared["lift"] is None
    assert compared["difference"]["estimate"] == pytest.approx(0.05)


def test_ldp_rate_is_a_ratio_of_debiased_shares() -> None:
    """ε = ln 3 (p - q = 1/2), 10,000 reports; arm A: 5,500 exposure ones
    (debiased 0.6), 3,000 goal ones (0.1), 2,000 both."""
    group = BitSums(
        n=10_000,
        epsilon=LN3,
        sums={"exposure": 5_500, "goal": 3_000},
        products={("exposure", "exposure"): 5_500, ("goal", "goal"): 3_000,
                  ("exposure", "goal"): 2_000},
    )  # fmt: skip
    found = ldp_experiment("search", [ArmBits("A", (group,))])
    (a,) = found["arms"]
    assert a["reports"] == 10_000
    assert a["exposures"]["estimate"] == pytest.approx(6_000)
    assert a["conversions"]["estimate"] == pytest.approx(1_000)
    rate = a["conversion_rate"]
    assert rate["estimate"] == pytest.approx(0.1 / 0.6)
    # delta method: V_g = 0.3·0.7/2500, V_e = 0.55·0.45/2500,
    # C = (2000/10000 - 0.55·0.3)/2500 (the sampled covariance of the bits)
    vg, ve, c = 0.21 / 2_500, 0.2475 / 2_500, 0.035 / 2_500
    r = 1 / 6
    se = math.sqrt((vg - 2 * r * c + r * r * ve) / 0.36)
    assert rate["low"] == pytest.approx(r - 1.959964 * se, rel=1e-6)
    assert found["srm"] is None and found["comparisons"] == []


# -- a true 14 % lift, through AggregateBuilder and the store ----------------------

SESSIONS = 20_000  # per arm
BASE, LIFT = 0.10, 0.14
DAYS = 14


def _fast_dir(factory: pytest.TempPathFactory) -> Path:
    """A temp folder in memory (/dev/shm) when there is one: 80,000 inserts,
    one transaction each, are disk-bound elsewhere."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="pytrigger-lift-", dir=shm))
    return factory.mktemp("lift")


@pytest.fixture(scope="module")
def lift_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """A SQLite collector holding, per mode, 20,000 sessions per arm over 14
    days: arm A converts 10 %, arm B 11.4 %.  ldp uses ε = 3 per bit; the
    default ln 3 leaves the lift's standard error near 0.13 at this size (see
    docs/experiments.md), too wide to find a 14 % lift."""
    path = _fast_dir(tmp_path_factory) / "collector.db"
    engine = store.connect(f"sqlite:///{path}")
    site = store.add_site(engine, "shop", ["https://shop.example"])
    rng = random.Random(20260501)
    first = 490_000
    for privacy in (Privacy(), Privacy("ldp", 3.0)):
        for i in range(2 * SESSIONS):
            arm = "AB"[i % 2]
            rate = BASE * (1 + LIFT) if arm == "B" else BASE
            hour = first + (i * DAYS * 24) // (2 * SESSIONS)
            report = session("shop", privacy, arm, rng.random() < rate, hour, rng)
            store.insert_report(engine, site.id, report, hour)
    yield engine, site
    engine.dispose()
    shutil.rmtree(path.parent, ignore_errors=True)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("mode", ["unlinkable", "ldp"])
def test_a_true_lift_is_found(lift_db: tuple[Any, Any], mode: str) -> None:
    engine, site = lift_db
    (found,) = build_experiments(engine, site)[mode]["experiments"]
    a, b = found["arms"]
    if mode == "unlinkable":
        assert a["exposures"]["estimate"] == b["exposures"]["estimate"] == SESSIONS
    for arm, truth in ((a, BASE), (b, BASE * (1 + LIFT))):
        rate = arm["conversion_rate"]
        assert rate["low"] <= truth <= rate["high"], (arm["arm"], rate)
    (compared,) = found["comparisons"]
    lift = compared["lift"]
    assert lift["estimate"] > 0
    assert lift["low"] <= LIFT <= lift["high"], lift
    assert found["srm"]["srm"] is False
    if mode == "unlinkable":  # 4.5 standard errors: significant, and the mSPRT sees it
        assert lift["low"] > 0
        assert compared["always_valid_p"]["p"] < 0.05


def test_daily_looks_through_the_store(lift_db: tuple[Any, Any]) -> None:
    """The harness checks daily (``until`` = the end of each day) and keeps
    the running minimum: with a true lift it ends below 0.05 and never rises."""
    engine, site = lift_db
    running, trail = 1.0, []
    for day in range(1, DAYS + 1):
        report = build_experiments(engine, site, until=490_000 + 24 * day - 1)
        (found,) = report["unlinkable"]["experiments"]
        (compared,) = found["comparisons"]
        running = min(running, compared["always_valid_p"]["p"])
        trail.append(running)
    assert trail == sorted(trail, reverse=True)
    assert trail[-1] < 0.05


# -- no true difference: the always-valid p-value, checked daily -----------------

EXPERIMENTS, LOOKS = 200, 14


def _looks(total: int) -> list[int]:
    share, extra = divmod(total, LOOKS)
    return [share + (1 if i < extra else 0) for i in range(LOOKS)]


def _null_unlinkable(rng: random.Random) -> float:
    exposures, conversions = [0, 0], [0, 0]
    running = 1.0
    for n in _looks(SESSIONS):
        for arm in (0, 1):
            exposures[arm] += n
            conversions[arm] += binomial(rng, n, BASE)
        found = unlinkable_experiment(
            "search",
            [ArmCounts(name, exposures[i], exposures[i], conversions[i])
             for i, name in enumerate("AB")],
        )  # fmt: skip
        running = min(running, found["comparisons"][0]["always_valid_p"]["p"])
    return running


def _null_ldp(rng: random.Random, epsilon: float) -> float:
    """Both arms' entries are in every report: an arm's own sessions carry
    exposure 1 (and goal 1 for a conversion), the other arm's carry zeros."""
    sums = [[0, 0, 0], [0, 0, 0]]
    reports = 0
    running = 1.0
    for n in _looks(SESSIONS):
        reports += 2 * n
        for arm in (0, 1):
            converted = binomial(rng, n, BASE)
            for count, truth in ((converted, (1, 1)), (n - converted, (1, 0)), (n, (0, 0))):
                drawn = randomized_pairs(rng, count, *truth, epsilon)
                sums[arm] = [s + d for s, d in zip(sums[arm], drawn, strict=True)]
        found = ldp_experiment(
            "search",
            [ArmBits(name, (arm_bits(reports, epsilon, tuple(sums[i])),))  # type: ignore[arg-type]
             for i, name in enumerate("AB")],
        )  # fmt: skip
        p = found["comparisons"][0]["always_valid_p"]
        running = min(running, 1.0 if p is None else p["p"])
    return running


@pytest.mark.timeout(240)
@pytest.mark.parametrize("mode", ["unlinkable", "ldp"])
def test_no_difference_keeps_the_always_valid_p_above_005(mode: str) -> None:
    rng = random.Random(f"null-{mode}")
    minima = [
        _null_unlinkable(rng) if mode == "unlinkable" else _null_ldp(rng, LN3)
        for _ in range(EXPERIMENTS)
    ]
    above = sum(1 for p in minima if p > 0.05)
    assert above >= 0.95 * EXPERIMENTS, (above, sorted(minima)[:12])


def test_binomial_draws_have_the_right_moments() -> None:
    rng = random.Random(3)
    for n, p in ((1_428, 0.1), (40, 0.05), (1_000, 0.75)):
        draws = [binomial(rng, n, p) for _ in range(4_000)]
        mean = sum(draws) / len(draws)
        var = sum((d - mean) ** 2 for d in draws) / len(draws)
        assert mean == pytest.approx(n * p, rel=0.02)
        assert var == pytest.approx(n * p * (1 - p), rel=0.1)
        assert all(0 <= d <= n for d in draws)


def test_randomized_pairs_are_unbiased() -> None:
    rng = random.Random(4)
    n = 200_000
    exposure, goal, both = randomized_pairs(rng, n, 1, 0, LN3)
    assert exposure / n == pytest.approx(0.75, abs=0.005)
    assert goal / n == pytest.approx(0.25, abs=0.005)
    assert both / n == pytest.approx(0.75 * 0.25, abs=0.005)


def test_simulated_sessions_are_valid_reports(tmp_path: Path) -> None:
    from pytrigger.aggregates import check_report

    rng = random.Random(5)
    for privacy in (Privacy(), Privacy("ldp", LN3)):
        assert check_report(session("shop", privacy, "B", True, 490_000, rng)) == []
