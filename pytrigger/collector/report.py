"""The figures of ``GET /v1/report``: shares per report, with 95 % intervals.

Every figure is a share of reports (= page sessions) in which something
happened at least once, with its 95 % interval:

- ``unlinkable`` reports are exact: the share is a plain proportion with a
  Wilson score interval.  ``per_report`` figures are over all the site's
  unlinkable reports (an entry absent from a report counts as zero);
  ``per_exposure`` figures are over the reports in which the (trigger, arm)
  was exposed — the reports on which arms are compared (DESIGN.md §6).
- ``ldp`` reports are randomized bits: each figure is the debiased
  randomized-response estimate (:func:`pytrigger.privacy.debias_groups`, which
  also pools reports sent with different ε) with its normal interval.  Its
  base is every ldp report that carried the entry.

A figure whose base is fewer than :data:`MIN_REPORTS` reports is withheld:
``{"withheld": true, "reports": n}``.  A (trigger, arm) entry carried by fewer
than :data:`MIN_REPORTS` reports is not listed at all (only counted in
``withheld_entries``), nor is an ``unlinkable`` segment held by fewer: such a
report is sent only by the sessions concerned, so even a share of all reports
would be a figure about fewer than 50 sessions.  (This also bounds the
answer's size, whatever names a client makes up.)

Latency figures are per bucket: the share of reports whose median latency
for the (trigger, arm) fell in it.

Two more parts have modules of their own: ``experiments``
(:mod:`.experiment_report`: per arm conversion rates, lifts, always-valid
p-values, sample-ratio mismatch) and ``health`` (:mod:`.health_report`:
per trigger funnel, fires per hour, gate confirmation, dismissals, latency
quantiles, alerts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func, select

from pytrigger.aggregates import COUNT_FIELDS, LATENCY_BUCKETS, LATENCY_EDGES_MS, SUPPRESS_REASONS
from pytrigger.collector.experiment_report import build_experiments
from pytrigger.collector.figures import MIN_REPORTS, Figure, figure
from pytrigger.collector.figures import positive as _positive
from pytrigger.collector.figures import window as _window
from pytrigger.collector.health_report import build_health
from pytrigger.collector.store import (
    LATENCY_COLUMNS,
    SUPPRESS_COLUMNS,
    Site,
    report_entries,
    report_segments,
    reports,
)
from pytrigger.privacy import debias_groups, wilson

__all__ = ["METRICS", "MIN_REPORTS", "build_report", "figure"]

#: metric name -> entry column, in output order
METRICS: dict[str, str] = {
    **{name: name for name in COUNT_FIELDS},
    **{f"suppressed.{r}": c for r, c in zip(SUPPRESS_REASONS, SUPPRESS_COLUMNS, strict=True)},
    **{f"latency.{i}": column for i, column in enumerate(LATENCY_COLUMNS)},
}
#: the metrics given per exposure (exposure itself would be 1)
_CONDITIONAL = [m for m in METRICS if m != "exposure" and not m.startswith("latency.")]


def _share(successes: int, n: int) -> Figure:
    return figure(wilson(successes, n) if n > 0 else None, n)


def _unlinkable(engine: Engine, site: Site, since: int | None, until: int | None) -> dict[str, Any]:
    e = report_entries.c
    latency = {f"latency.{i}": _positive(e.latency_median == i) for i in range(LATENCY_BUCKETS)}
    sums = {m: _positive(e[c] > 0) for m, c in METRICS.items() if not m.startswith("latency.")}
    sums |= latency
    given = {f"x:{m}": _positive((e.exposure > 0) & (e[METRICS[m]] > 0)) for m in _CONDITIONAL}
    entries = (
        select(
            e.trigger,
            e.arm,
            func.count().label("n"),
            *(v.label(k) for k, v in (sums | given).items()),
        )
        .where(e.mode == "unlinkable", *_window(report_entries, site, since, until))
        .group_by(e.trigger, e.arm)
        .order_by(e.trigger, e.arm)
    )
    r = reports.c
    window = [r.mode == "unlinkable", *_window(reports, site, since, until)]
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).where(*window)).scalar_one()
        rows = conn.execute(entries).mappings().all()
        segments = conn.execute(
            select(r.segment, func.count()).where(*window).group_by(r.segment)
        ).all()
    triggers = []
    for row in rows:
        if int(row["n"]) < MIN_REPORTS:
            continue
        exposed = int(row["exposure"])
        triggers.append(
            {
                "trigger": row["trigger"],
                "arm": row["arm"],
                "reports": total,
                "per_report": {m: _share(int(row[m]), total) for m in METRICS},
                "per_exposure": {m: _share(int(row[f"x:{m}"]), exposed) for m in _CONDITIONAL},
            }
        )
    by_segment = {name: int(count) for name, count in segments}
    return {
        "reports": total,
        "epsilons": [],
        "segments": {
            name: _share(count, total)
            for name, count in sorted(by_segment.items(), key=lambda item: str(item[0]))
            if name is not None and count >= MIN_REPORTS
        },
        "no_segment": _share(by_segment.get(None, 0), total),
        "triggers": triggers,
        "withheld_entries": len(rows) - len(triggers),
    }


def _debiased(groups: list[tuple[int, int, float]]) -> Figure:
    n = sum(count for _, count, _ in groups)
    return figure(debias_groups(groups) if n > 0 else None, n)


def _ldp(engine: Engine, site: Site, since: int | None, until: int | None) -> dict[str, Any]:
    e = report_entries.c
    query = (
        select(
            e.trigger,
            e.arm,
            e.epsilon,
            func.count().label("n"),
            *(func.coalesce(func.sum(e[c]), 0).label(m) for m, c in METRICS.items()),
        )
        .where(e.mode == "ldp", *_window(report_entries, site, since, until))
        .group_by(e.trigger, e.arm, e.epsilon)
        .order_by(e.trigger, e.arm, e.epsilon)
    )
    s = report_segments.c
    segment_query = (
        select(s.name, s.epsilon, func.count().label("n"), func.sum(s.bit).label("ones"))
        .where(*_window(report_segments, site, since, until))
        .group_by(s.name, s.epsilon)
        .order_by(s.name, s.epsilon)
    )
    r = reports.c
    window = [r.mode == "ldp", *_window(reports, site, since, until)]
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).where(*window)).scalar_one()
        epsilons = conn.execute(select(r.epsilon).where(*window).distinct()).scalars().all()
        rows = conn.execute(query).mappings().all()
        segment_rows = conn.execute(segment_query).mappings().all()
    grouped: dict[tuple[str, str | None], list[Any]] = {}
    for row in rows:
        grouped.setdefault((row["trigger"], row["arm"]), []).append(row)
    triggers = []
    for (trigger, arm), group in grouped.items():
        n = sum(int(g["n"]) for g in group)
        if n < MIN_REPORTS:
            continue
        per_report = {
            m: _debiased([(int(g[m]), int(g["n"]), float(g["epsilon"])) for g in group])
            for m in METRICS
        }
        triggers.append({"trigger": trigger, "arm": arm, "reports": n, "per_report": per_report})
    segments: dict[str, list[tuple[int, int, float]]] = {}
    for row in segment_rows:
        segments.setdefault(row["name"], []).append(
            (int(row["ones"]), int(row["n"]), float(row["epsilon"]))
        )
    return {
        "reports": total,
        "epsilons": sorted(float(x) for x in epsilons if x is not None),
        "segments": {name: _debiased(groups) for name, groups in segments.items()},
        "no_segment": None,
        "triggers": triggers,
        "withheld_entries": len(grouped) - len(triggers),
    }


def build_report(
    engine: Engine,
    site: Site,
    *,
    since: int | None = None,
    until: int | None = None,
    weights: Sequence[float] | None = None,
) -> dict[str, Any]:
    """All figures of a site, optionally for reports whose hour is in
    ``[since, until]`` (hours since the Unix epoch).  ``weights``: the
    experiments' configured arm weights for the sample-ratio test
    (:mod:`.experiment_report`; equal shares by default)."""
    edges: list[int | None] = [0, *LATENCY_EDGES_MS, None]
    return {
        "site": site.name,
        "min_reports": MIN_REPORTS,
        "confidence": 0.95,
        "latency_buckets_ms": [[edges[i], edges[i + 1]] for i in range(LATENCY_BUCKETS)],
        "unlinkable": _unlinkable(engine, site, since, until),
        "ldp": _ldp(engine, site, since, until),
        "experiments": build_experiments(engine, site, since=since, until=until, weights=weights),
        "health": build_health(engine, site, since=since, until=until),
    }
