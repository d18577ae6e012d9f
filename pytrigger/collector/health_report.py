"""Trigger health: the ``health`` part of ``GET /v1/report``.

Per trigger (its arms pooled: a session is in one arm) and per privacy mode:

- ``funnel``: the shares of the mode's reports in which the trigger was
  exposed, gated, fired, and in which a goal counted after a fire;
- ``fires_per_hour``: fires over the report hours (from the first to the
  last report hour in the window, empty hours included);
- ``gate_confirmation``: among the reports with a gate, the share with a
  fire (``null`` when no report had a gate);
- ``dismissal_rate``: among the reports with a fire, the share with a
  dismissal — the false-positive proxy, whose target is under 5 %;
- ``latency``: the decision-latency histogram with its p50 and p99 against
  the 500 ms budget;
- ``alerts``: ``dismissals_spike``, ``saturated``, ``over_budget``.

``unlinkable`` figures are exact shares with Wilson intervals, fires are
counted; ``ldp`` figures are debiased (bits summed over the trigger's arms in
each report, :func:`pytrigger.collector.estimators.mean_of`), conditional
rates are ratios of debiased shares (fire ⇒ gate for a gated trigger,
dismissal ⇒ fire), fires per hour are sessions with a fire per hour, and
the latency histogram is of the sessions' median latencies.  A trigger
carried by fewer than 50 reports is not listed (``withheld_triggers``); a
figure on fewer than 50 reports is withheld.  docs/experiments.md has the
formulas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Engine, case, func, select

from pytrigger.aggregates import LATENCY_BUCKETS
from pytrigger.collector.estimators import (
    BitSums,
    covariance_of,
    histogram_quantile,
    mean_of,
    ratio,
    share_of,
)
from pytrigger.collector.figures import MIN_REPORTS, Figure, figure, positive, window
from pytrigger.collector.store import LATENCY_COLUMNS, Site, report_entries, reports
from pytrigger.privacy import Z_95, Estimate, wilson

__all__ = [
    "DISMISSAL_TARGET",
    "LATENCY_BUDGET_MS",
    "RECENT_HOURS",
    "TriggerCounts",
    "build_health",
    "ldp_health",
    "unlinkable_health",
]

#: the decision-latency budget (ms) that p99 is held against
LATENCY_BUDGET_MS = 500.0
#: the dismissal rate a trigger should stay under (the false-positive proxy)
DISMISSAL_TARGET = 0.05
#: the "recent" window of the dismissals spike: the last 24 report hours
RECENT_HOURS = 24
#: ``saturated``: the trigger fires in more than this share of all reports
SATURATION = 0.5

_LATENCY = tuple(f"latency_{i}" for i in range(LATENCY_BUCKETS))
_FIELDS = ("exposure", "gate", "fire", "dismiss", "goal")


@dataclass(frozen=True, slots=True)
class TriggerCounts:
    """One trigger's ``unlinkable`` counts over some reports: the reports
    carrying it, those in which it was exposed / gated / gated and fired /
    fired / fired and dismissed / converted, the fires (Σ and Σ of squares
    of the per-report counts), decisions per latency bucket, and the
    reports with a latency sample."""

    reports: int = 0
    exposed: int = 0
    gated: int = 0
    confirmed: int = 0
    fired: int = 0
    dismissed: int = 0
    converted: int = 0
    fires: int = 0
    fires_squared: int = 0
    latency: tuple[int, ...] = (0,) * LATENCY_BUCKETS
    timed: int = 0

    def __add__(self, other: TriggerCounts) -> TriggerCounts:
        summed = {
            f.name: getattr(self, f.name) + getattr(other, f.name)
            for f in fields(self)
            if f.name != "latency"
        }
        latency = tuple(a + b for a, b in zip(self.latency, other.latency, strict=True))
        return TriggerCounts(**summed, latency=latency)


def _share(successes: int, n: int) -> Figure | None:
    return None if n <= 0 else figure(wilson(successes, n) if n >= MIN_REPORTS else None, n)


def _latency(masses: Sequence[float], base: int, of: str) -> dict[str, Any] | None:
    if base < MIN_REPORTS:
        return {"withheld": True, "reports": base} if base > 0 else None
    p50, p99 = histogram_quantile(masses, 0.5), histogram_quantile(masses, 0.99)
    if p50 is None or p99 is None:
        return None
    clipped = [max(0.0, m) for m in masses]
    total = sum(clipped)
    return {
        "reports": base,
        "of": of,
        "histogram": [m / total for m in clipped],
        "p50_ms": p50,
        "p99_ms": p99,
        "budget_ms": LATENCY_BUDGET_MS,
        "within_budget": p99 <= LATENCY_BUDGET_MS,
    }


def _alerts(
    fire_share: Figure,
    rates: tuple[Estimate | None, Estimate | None],
    latency: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    out = []
    recent, before = rates
    if recent is not None and before is not None:
        threshold = max(2 * before.estimate, DISMISSAL_TARGET)
        if recent.estimate > threshold:
            out.append(
                {
                    "alert": "dismissals_spike",
                    "value": recent.estimate,
                    "threshold": threshold,
                    "message": f"dismissal rate {recent.estimate:.1%} in the last "
                    f"{RECENT_HOURS} report hours, over max(2 x {before.estimate:.1%} "
                    f"before, {DISMISSAL_TARGET:.0%})",
                }
            )
    if "estimate" in fire_share and fire_share["estimate"] > SATURATION:
        out.append(
            {
                "alert": "saturated",
                "value": fire_share["estimate"],
                "threshold": SATURATION,
                "message": f"fires in {fire_share['estimate']:.0%} of all reports: "
                "it fires for most visitors",
            }
        )
    if latency is not None and latency.get("within_budget") is False:
        out.append(
            {
                "alert": "over_budget",
                "value": latency["p99_ms"],
                "threshold": LATENCY_BUDGET_MS,
                "message": f"p99 decision latency {latency['p99_ms']:.0f} ms, over the "
                f"{LATENCY_BUDGET_MS:.0f} ms budget",
            }
        )
    return out


def _per_hour(total: float, variance: float, hours: int, base: int) -> Figure:
    rate, var = total / hours, max(0.0, variance) / (hours * hours)
    half = Z_95 * math.sqrt(var)
    return figure(Estimate(rate, var, max(0.0, rate - half), rate + half), base)


def unlinkable_health(
    trigger: str, total: int, hours: int, recent: TriggerCounts, before: TriggerCounts
) -> dict[str, Any]:
    """A trigger's health from its exact counts in the recent and earlier
    windows; ``total`` is the number of the mode's reports, ``hours`` the
    report hours they span."""
    c = recent + before
    fire_share = figure(wilson(c.fired, total), total)
    mean = c.fires / total
    variance = total * (c.fires_squared / total - mean * mean)  # of the total, per report iid
    latency = _latency(c.latency, c.timed, "decisions")

    def rate(w: TriggerCounts) -> Estimate | None:
        return wilson(w.dismissed, w.fired) if w.fired >= MIN_REPORTS else None

    return {
        "trigger": trigger,
        "reports": c.reports,
        "funnel": {
            "exposure": figure(wilson(c.exposed, total), total),
            "gate": figure(wilson(c.gated, total), total),
            "fire": fire_share,
            "goal": figure(wilson(c.converted, total), total),
        },
        "fires_per_hour": _per_hour(c.fires, variance, hours, total),
        "gate_confirmation": _share(c.confirmed, c.gated),
        "dismissal_rate": _share(c.dismissed, c.fired),
        "latency": latency,
        "alerts": _alerts(fire_share, (rate(recent), rate(before)), latency),
    }


def _ratio(groups: Sequence[BitSums], numerator: str, denominator: str) -> Estimate | None:
    if sum(g.n for g in groups) < MIN_REPORTS:
        return None
    num, den = share_of(groups, numerator), share_of(groups, denominator)
    cov = covariance_of(groups, numerator, denominator)
    return ratio(num.estimate, den.estimate, num.variance, den.variance, cov)


def ldp_health(
    trigger: str, hours: int, recent: Sequence[BitSums], before: Sequence[BitSums]
) -> dict[str, Any]:
    """A trigger's health from its randomized bits (summed over its arms in
    each report) in the recent and earlier windows."""
    groups = [*recent, *before]
    n = sum(g.n for g in groups)
    funnel = {name: figure(share_of(groups, name), n) for name in _FIELDS if name != "dismiss"}
    fire = share_of(groups, "fire")
    # the one-hot median-latency bits summed: the share of sessions with a sample;
    # below significance the histogram would be noise alone
    timed = share_of(groups, "timed")
    latency = None
    if timed.estimate - Z_95 * math.sqrt(max(0.0, timed.variance)) > 0:
        latency = _latency([mean_of(groups, name) for name in _LATENCY], n, "session_medians")

    def conditional(numerator: str, denominator: str) -> Figure | None:
        found = _ratio(groups, numerator, denominator)
        return None if found is None else figure(found, n)

    return {
        "trigger": trigger,
        "reports": n,
        "funnel": funnel,
        "fires_per_hour": _per_hour(fire.estimate * n, fire.variance * n * n, hours, n),
        "gate_confirmation": conditional("fire", "gate"),
        "dismissal_rate": conditional("dismiss", "fire"),
        "latency": latency,
        "alerts": _alerts(
            funnel["fire"],
            (_ratio(recent, "dismiss", "fire"), _ratio(before, "dismiss", "fire")),
            latency,
        ),
    }


def _unlinkable_counts(conn: Any, where: list[Any], recent_from: int) -> dict[str, Any]:
    e = report_entries.c
    lat = [func.sum(e[c]).label(c) for c in LATENCY_COLUMNS]
    per_report = (
        select(
            e.trigger,
            e.hour,
            func.max(case((e.exposure > 0, 1), else_=0)).label("exposed"),
            func.max(case((e.gate > 0, 1), else_=0)).label("gated"),
            func.max(case(((e.gate > 0) & (e.fire > 0), 1), else_=0)).label("confirmed"),
            func.max(case((e.fire > 0, 1), else_=0)).label("fired"),
            func.max(case(((e.fire > 0) & (e.dismiss > 0), 1), else_=0)).label("dismissed"),
            func.max(case((e.goal > 0, 1), else_=0)).label("converted"),
            func.sum(e.fire).label("fires"),
            *lat,
        )
        .where(e.mode == "unlinkable", *where)
        .group_by(e.report_pk, e.trigger, e.hour)
        .subquery()
    )
    s = per_report.c
    recent = case((s.hour >= recent_from, 1), else_=0).label("recent")
    names = ("exposed", "gated", "confirmed", "fired", "dismissed", "converted", "fires")
    query = select(
        s.trigger,
        recent,
        func.count().label("reports"),
        *(func.coalesce(func.sum(s[name]), 0).label(name) for name in names),
        func.coalesce(func.sum(s.fires * s.fires), 0).label("fires_squared"),
        *(func.coalesce(func.sum(s[c]), 0).label(c) for c in LATENCY_COLUMNS),
        positive(sum((s[c] for c in LATENCY_COLUMNS[1:]), s[LATENCY_COLUMNS[0]]) > 0).label(
            "timed"
        ),
    ).group_by(s.trigger, recent)
    out: dict[str, dict[int, TriggerCounts]] = {}
    for row in conn.execute(query).mappings():
        counts = TriggerCounts(
            **{name: int(row[name]) for name in (*names, "reports", "fires_squared", "timed")},
            latency=tuple(int(row[c]) for c in LATENCY_COLUMNS),
        )
        out.setdefault(row["trigger"], {})[int(row["recent"])] = counts
    return out


def _ldp_sums(conn: Any, where: list[Any], recent_from: int) -> dict[str, dict[int, list[BitSums]]]:
    e = report_entries.c
    columns = (*_FIELDS, *LATENCY_COLUMNS)
    per_report = (
        select(
            e.trigger,
            e.hour,
            e.epsilon,
            func.count().label("k"),
            *(func.sum(e[c]).label(c) for c in columns),
            func.sum(sum((e[c] for c in LATENCY_COLUMNS[1:]), e[LATENCY_COLUMNS[0]])).label(
                "timed"
            ),
        )
        .where(e.mode == "ldp", *where)
        .group_by(e.report_pk, e.trigger, e.hour, e.epsilon)
        .subquery()
    )
    s = per_report.c
    recent = case((s.hour >= recent_from, 1), else_=0).label("recent")
    pairs = [*((x, x) for x in (*_FIELDS, "timed")), ("fire", "gate"), ("dismiss", "fire")]
    query = select(
        s.trigger,
        recent,
        s.epsilon,
        s.k,
        func.count().label("n"),
        *(func.coalesce(func.sum(s[c]), 0).label(c) for c in (*columns, "timed")),
        *(func.coalesce(func.sum(s[x] * s[y]), 0).label(f"{x}_x_{y}") for x, y in pairs),
    ).group_by(s.trigger, recent, s.epsilon, s.k)
    out: dict[str, dict[int, list[BitSums]]] = {}
    for row in conn.execute(query).mappings():
        sums = BitSums(
            n=int(row["n"]),
            epsilon=float(row["epsilon"]),
            k=int(row["k"]),
            sums={c: float(row[c]) for c in (*columns, "timed")},
            products={(x, y): float(row[f"{x}_x_{y}"]) for x, y in pairs},
            widths={"timed": LATENCY_BUCKETS},
        )
        out.setdefault(row["trigger"], {}).setdefault(int(row["recent"]), []).append(sums)
    return out


def _span(conn: Any, site: Site, mode: str, since: int | None, until: int | None) -> Any:
    r = reports.c
    return conn.execute(
        select(func.count(), func.min(r.hour), func.max(r.hour)).where(
            r.mode == mode, *window(reports, site, since, until)
        )
    ).one()


def _mode_health(
    conn: Any, site: Site, mode: str, since: int | None, until: int | None
) -> dict[str, Any]:
    total, first, last = _span(conn, site, mode, since, until)
    total = int(total)
    out: dict[str, Any] = {
        "reports": total,
        "hours": 0,
        "first_hour": None,
        "last_hour": None,
        "triggers": [],
        "withheld_triggers": 0,
    }
    if total == 0:
        return out
    hours = int(last) - int(first) + 1
    out |= {"hours": hours, "first_hour": int(first), "last_hour": int(last)}
    where = window(report_entries, site, since, until)
    recent_from = int(last) - RECENT_HOURS + 1
    if mode == "unlinkable":
        for trigger, counts in sorted(_unlinkable_counts(conn, where, recent_from).items()):
            new, old = counts.get(1, TriggerCounts()), counts.get(0, TriggerCounts())
            if (new + old).reports < MIN_REPORTS:
                out["withheld_triggers"] += 1
            else:
                out["triggers"].append(unlinkable_health(trigger, total, hours, new, old))
    else:
        for trigger, sums in sorted(_ldp_sums(conn, where, recent_from).items()):
            recent, before = sums.get(1, []), sums.get(0, [])
            if sum(g.n for g in (*recent, *before)) < MIN_REPORTS:
                out["withheld_triggers"] += 1
            else:
                out["triggers"].append(ldp_health(trigger, hours, recent, before))
    return out


def build_health(
    engine: Engine, site: Site, *, since: int | None = None, until: int | None = None
) -> dict[str, Any]:
    """The ``health`` part of the report, for reports whose hour is in
    ``[since, until]``."""
    with engine.connect() as conn:
        modes = {
            mode: _mode_health(conn, site, mode, since, until) for mode in ("unlinkable", "ldp")
        }
    return {
        "latency_budget_ms": LATENCY_BUDGET_MS,
        "dismissal_target": DISMISSAL_TARGET,
        "recent_hours": RECENT_HOURS,
        **modes,
    }
