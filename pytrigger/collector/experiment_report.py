"""The experiment report: the ``experiments`` part of ``GET /v1/report``.

For every trigger that has experiment arms in the stored reports, and per
privacy mode, per arm: exposures (reports in which the (trigger, arm) was
exposed), conversions (among those, the reports in which a goal counted) and
the conversion rate among the exposed with its 95 % interval; per arm after
the control (the first arm by name): the difference and the relative lift
against the control, with 95 % intervals, and the mixture-SPRT p-value of
this look; and a sample-ratio-mismatch test of the exposures against equal
shares (or the ``weights`` the request gives).  docs/experiments.md states
the methods and their formulas.

- ``unlinkable``: exact counts; the rate is a plain share with a Wilson
  interval.
- ``ldp``: the exposure and goal bits are randomized independently, so the
  joint "exposed and converted" is not observed; but a goal counts only after
  a fire, and a fire only after an exposure, so goal ⇒ exposure and
  P(goal ∧ exposed) = P(goal).  The rate is the ratio of the two debiased
  shares over all ldp reports (every one carries every arm), with a
  delta-method interval that uses their sampled covariance.

Each part is a pure function of the counts (:func:`unlinkable_experiment`,
:func:`ldp_experiment`) that the statistical tests call with simulated
counts; :func:`build_experiments` runs the queries and calls them.  The floor:
an arm whose entry is carried by fewer than 50 reports is not listed (counted
in ``withheld_arms``), and a figure on fewer than 50 reports is withheld.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from pytrigger.collector.estimators import (
    BitSums,
    covariance_of,
    difference,
    msprt_p_value,
    pearson_srm,
    ratio,
    relative_lift,
    share_of,
    wald_srm,
)
from pytrigger.collector.figures import MIN_REPORTS, Figure, figure, positive, window
from pytrigger.collector.store import Site, report_entries
from pytrigger.privacy import Estimate, wilson

__all__ = [
    "MSPRT_TAU",
    "SRM_THRESHOLD",
    "ArmBits",
    "ArmCounts",
    "build_experiments",
    "ldp_experiment",
    "unlinkable_experiment",
]

#: the standard deviation of the mSPRT's normal mixing distribution over the
#: true difference of conversion rates (absolute, in rate units)
MSPRT_TAU = 0.02
#: a sample-ratio mismatch is flagged below this p-value
SRM_THRESHOLD = 0.001


@dataclass(frozen=True, slots=True)
class ArmCounts:
    """An arm's ``unlinkable`` counts: the reports carrying its entry, those
    in which it was exposed, and those exposed in which a goal counted."""

    arm: str
    reports: int
    exposures: int
    conversions: int


@dataclass(frozen=True, slots=True)
class ArmBits:
    """An arm's ``ldp`` sums, one :class:`BitSums` per ε, over the fields
    ``exposure`` and ``goal`` (with their squares and cross product)."""

    arm: str
    groups: tuple[BitSums, ...]

    @property
    def reports(self) -> int:
        return sum(g.n for g in self.groups)


@dataclass(frozen=True, slots=True)
class _Arm:
    name: str
    base: int  # the reports its rate rests on
    exposures: Figure
    conversions: Figure
    rate: Estimate | None


def _count(value: float, base: int) -> Figure:
    return figure(Estimate(float(value), 0.0, float(value), float(value)), base)


def _scaled(share: Estimate, n: int) -> Estimate:
    return Estimate(share.estimate * n, share.variance * n * n, share.low * n, share.high * n)


def _srm(
    stats: tuple[float, int, float] | None, weights: list[float], smallest: int, reports: int
) -> Any:
    """The SRM figure; withheld when an arm's base (``smallest``) is under the floor."""
    if smallest < MIN_REPORTS:
        return {"withheld": True, "reports": smallest}
    if stats is None:
        return None
    statistic, df, p = stats
    return {
        "p": p,
        "srm": p < SRM_THRESHOLD,
        "statistic": statistic,
        "df": df,
        "expected": weights,
        "reports": reports,
    }


def _weights(weights: Sequence[float] | None, k: int) -> list[float]:
    if weights is not None and len(weights) == k and all(w > 0 for w in weights):
        total = sum(weights)
        return [w / total for w in weights]
    return [1.0 / k] * k


def _compare(control: _Arm, arm: _Arm, tau: float) -> dict[str, Any]:
    base = min(control.base, arm.base)
    out: dict[str, Any] = {"arm": arm.name, "control": control.name, "reports": base}
    if base < MIN_REPORTS:
        withheld = {"withheld": True, "reports": base}
        return out | {"difference": withheld, "lift": withheld, "always_valid_p": withheld}
    if control.rate is None or arm.rate is None:
        return out | {"difference": None, "lift": None, "always_valid_p": None}
    diff = difference(arm.rate, control.rate)
    lift = relative_lift(
        arm.rate.estimate, arm.rate.variance, control.rate.estimate, control.rate.variance
    )
    p = msprt_p_value(diff.estimate, diff.variance, tau)
    return out | {
        "difference": figure(diff, base),
        "lift": None if lift is None else figure(lift, base),
        "always_valid_p": {"p": p, "reports": base},
    }


def _assemble(trigger: str, arms: list[_Arm], srm: Any, tau: float) -> dict[str, Any]:
    control = arms[0]
    return {
        "trigger": trigger,
        "control": control.name,
        "arms": [
            {
                "arm": a.name,
                "reports": a.base,
                "exposures": a.exposures,
                "conversions": a.conversions,
                "conversion_rate": None if a.rate is None else figure(a.rate, a.base),
            }
            for a in arms
        ],
        "comparisons": [_compare(control, a, tau) for a in arms[1:]],
        "srm": srm,
    }


def unlinkable_experiment(
    trigger: str,
    arms: Sequence[ArmCounts],
    *,
    weights: Sequence[float] | None = None,
    tau: float = MSPRT_TAU,
) -> dict[str, Any]:
    """One experiment's figures from its arms' exact counts (arms in
    code-point order of their names; the first is the control)."""
    ordered = sorted(arms, key=lambda a: a.arm)
    built = [
        _Arm(
            name=a.arm,
            base=a.exposures,
            exposures=_count(a.exposures, a.reports),
            conversions=_count(a.conversions, a.exposures),
            rate=wilson(a.conversions, a.exposures) if a.exposures >= MIN_REPORTS else None,
        )
        for a in ordered
    ]
    srm = None
    if len(ordered) >= 2:
        shares = _weights(weights, len(ordered))
        exposures = [a.exposures for a in ordered]
        stats = pearson_srm(exposures, shares) if min(exposures) > 0 else None
        srm = _srm(stats, shares, min(exposures), sum(exposures))
    return _assemble(trigger, built, srm, tau)


def ldp_experiment(
    trigger: str,
    arms: Sequence[ArmBits],
    *,
    weights: Sequence[float] | None = None,
    tau: float = MSPRT_TAU,
) -> dict[str, Any]:
    """One experiment's figures from its arms' randomized bits (debiased)."""
    ordered = sorted(arms, key=lambda a: a.arm)
    built: list[_Arm] = []
    exposure_shares: list[Estimate] = []
    for a in ordered:
        n = a.reports
        exposed = share_of(a.groups, "exposure")
        converted = share_of(a.groups, "goal")
        both = covariance_of(a.groups, "exposure", "goal")
        rate = ratio(
            converted.estimate, exposed.estimate, converted.variance, exposed.variance, both
        )
        exposure_shares.append(exposed)
        built.append(
            _Arm(
                name=a.arm,
                base=n,
                exposures=figure(_scaled(exposed, n), n),
                conversions=figure(_scaled(converted, n), n),
                rate=rate,
            )
        )
    srm = None
    if len(ordered) >= 2:
        shares = _weights(weights, len(ordered))
        n = min(a.reports for a in ordered)
        # arms are exclusive in a session: Cov(e_i, e_j) = -π_i·π_j / N
        est = [s.estimate for s in exposure_shares]
        covariance = [
            [
                exposure_shares[i].variance if i == j else -est[i] * est[j] / n
                for j in range(len(est))
            ]
            for i in range(len(est))
        ]
        srm = _srm(wald_srm(est, covariance, shares), shares, n, n)
    return _assemble(trigger, built, srm, tau)


def _unlinkable_arms(conn: Any, where: list[Any]) -> dict[str, list[ArmCounts]]:
    e = report_entries.c
    query = (
        select(
            e.trigger,
            e.arm,
            func.count().label("n"),
            positive(e.exposure > 0).label("exposed"),
            positive((e.exposure > 0) & (e.goal > 0)).label("converted"),
        )
        .where(e.mode == "unlinkable", e.arm.is_not(None), *where)
        .group_by(e.trigger, e.arm)
    )
    out: dict[str, list[ArmCounts]] = {}
    for row in conn.execute(query).mappings():
        out.setdefault(row["trigger"], []).append(
            ArmCounts(row["arm"], int(row["n"]), int(row["exposed"]), int(row["converted"]))
        )
    return out


def _ldp_arms(conn: Any, where: list[Any]) -> dict[str, list[ArmBits]]:
    e = report_entries.c
    query = (
        select(
            e.trigger,
            e.arm,
            e.epsilon,
            func.count().label("n"),
            func.coalesce(func.sum(e.exposure), 0).label("exposure"),
            func.coalesce(func.sum(e.goal), 0).label("goal"),
            func.coalesce(func.sum(e.exposure * e.goal), 0).label("both"),
        )
        .where(e.mode == "ldp", e.arm.is_not(None), *where)
        .group_by(e.trigger, e.arm, e.epsilon)
    )
    grouped: dict[tuple[str, str], list[BitSums]] = {}
    for row in conn.execute(query).mappings():
        exposure, goal = float(row["exposure"]), float(row["goal"])
        grouped.setdefault((row["trigger"], row["arm"]), []).append(
            BitSums(
                n=int(row["n"]),
                epsilon=float(row["epsilon"]),
                sums={"exposure": exposure, "goal": goal},
                products={
                    ("exposure", "exposure"): exposure,  # a bit is its own square
                    ("goal", "goal"): goal,
                    ("exposure", "goal"): float(row["both"]),
                },
            )
        )
    out: dict[str, list[ArmBits]] = {}
    for (trigger, arm), groups in grouped.items():
        out.setdefault(trigger, []).append(ArmBits(arm, tuple(groups)))
    return out


def _listed(arms: Sequence[ArmCounts | ArmBits]) -> list[Any]:
    return [a for a in arms if a.reports >= MIN_REPORTS]


def build_experiments(
    engine: Engine,
    site: Site,
    *,
    since: int | None = None,
    until: int | None = None,
    weights: Sequence[float] | None = None,
    tau: float = MSPRT_TAU,
) -> dict[str, Any]:
    """The ``experiments`` part of the report, for reports whose hour is in
    ``[since, until]``."""
    where = window(report_entries, site, since, until)
    with engine.connect() as conn:
        unlinkable = _unlinkable_arms(conn, where)
        ldp = _ldp_arms(conn, where)
    modes: dict[str, Any] = {}
    for mode, found in (("unlinkable", unlinkable), ("ldp", ldp)):
        experiments, withheld = [], 0
        for trigger in sorted(found):
            listed = _listed(found[trigger])
            withheld += len(found[trigger]) - len(listed)
            if not listed:
                continue
            if mode == "unlinkable":
                result = unlinkable_experiment(trigger, listed, weights=weights, tau=tau)
            else:
                result = ldp_experiment(trigger, listed, weights=weights, tau=tau)
            experiments.append(result)
        modes[mode] = {"experiments": experiments, "withheld_arms": withheld}
    return {
        "msprt_tau": tau,
        "srm_threshold": SRM_THRESHOLD,
        "weights": None if weights is None else list(weights),
        **modes,
    }
