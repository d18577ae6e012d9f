"""Response bodies of the collector's API, as pydantic models (for the
OpenAPI document and for checking what ``/v1/report`` returns)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Accepted",
    "Figure",
    "ModeFigures",
    "Problem",
    "Released",
    "ReportFigures",
    "TriggerFigures",
    "Withheld",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(_Strict):
    """Why a request was refused; ``path`` names the bad field of a report."""

    detail: str
    path: str | None = None


class Accepted(_Strict):
    status: Literal["accepted"]


class Released(_Strict):
    """A share of reports with its 95 % interval, over ``reports`` reports."""

    estimate: float
    low: float
    high: float
    reports: int


class Withheld(_Strict):
    """A figure backed by fewer than 50 reports: not released."""

    withheld: Literal[True]
    reports: int


Figure = Released | Withheld


class TriggerFigures(_Strict):
    trigger: str
    arm: str | None
    reports: int
    per_report: dict[str, Figure]
    per_exposure: dict[str, Figure] | None = None


class ModeFigures(_Strict):
    reports: int
    epsilons: list[float]
    segments: dict[str, Figure]
    no_segment: Figure | None
    triggers: list[TriggerFigures]
    #: (trigger, arm) entries carried by fewer than 50 reports: not listed
    withheld_entries: int


class ReportFigures(_Strict):
    site: str
    min_reports: int
    confidence: float
    latency_buckets_ms: list[tuple[int, int | None]]
    unlinkable: ModeFigures
    ldp: ModeFigures
