"""What every part of ``GET /v1/report`` shares: the 50-report floor, the
figure it releases or withholds, and two query helpers.

A figure is ``{"estimate", "low", "high", "reports"}`` — an estimate with its
95 % interval over a base of ``reports`` reports (page sessions) — or, when
that base is under :data:`MIN_REPORTS`, ``{"withheld": true, "reports": n}``
(DESIGN.md §7).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func
from sqlalchemy.sql.elements import ColumnElement

from pytrigger.collector.store import Site
from pytrigger.privacy import Estimate

__all__ = ["MIN_REPORTS", "Figure", "figure", "positive", "window"]

#: the floor below which no figure is released (DESIGN.md §7)
MIN_REPORTS = 50

Figure = dict[str, Any]


def figure(estimate: Estimate | None, reports_: int) -> Figure:
    """A released figure, or the withheld marker when the base is too small.

    >>> figure(Estimate(0.5, 0.001, 0.44, 0.56), 49)
    {'withheld': True, 'reports': 49}
    """
    if estimate is None or reports_ < MIN_REPORTS:
        return {"withheld": True, "reports": reports_}
    return {
        "estimate": estimate.estimate,
        "low": estimate.low,
        "high": estimate.high,
        "reports": reports_,
    }


def window(table: Any, site: Site, since: int | None, until: int | None) -> list[Any]:
    """The WHERE terms for a site's rows whose ``hour`` is in ``[since, until]``."""
    where = [table.c.site_id == site.id]
    if since is not None:
        where.append(table.c.hour >= since)
    if until is not None:
        where.append(table.c.hour <= until)
    return where


def positive(condition: ColumnElement[bool]) -> Any:
    """``SUM(CASE WHEN condition THEN 1 ELSE 0 END)``, 0 over no rows."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
