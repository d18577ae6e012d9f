"""Response bodies of the collector's API, as pydantic models (for the
OpenAPI document and for checking what ``/v1/report`` returns)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Accepted",
    "Alert",
    "ArmFigures",
    "Comparison",
    "ExperimentFigures",
    "Experiments",
    "Figure",
    "Health",
    "LatencyHealth",
    "ModeExperiments",
    "ModeFigures",
    "ModeHealth",
    "PValue",
    "Problem",
    "Released",
    "ReportFigures",
    "SampleRatio",
    "TriggerFigures",
    "TriggerHealth",
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


class ArmFigures(_Strict):
    """An arm: exposures, conversions (among the exposed) and the conversion
    rate (``null``: not estimable — in ldp, no significant exposure)."""

    arm: str
    reports: int
    exposures: Figure
    conversions: Figure
    conversion_rate: Figure | None


class PValue(_Strict):
    """The mixture SPRT's p-value at this look; the always-valid p-value is
    its running minimum over the looks, which the caller keeps."""

    p: float
    reports: int


class Comparison(_Strict):
    """An arm against the control: rate difference, relative lift, mSPRT p."""

    arm: str
    control: str
    reports: int
    difference: Figure | None
    lift: Figure | None
    always_valid_p: PValue | Withheld | None


class SampleRatio(_Strict):
    """The sample-ratio-mismatch test of the exposures per arm."""

    p: float
    srm: bool
    statistic: float
    df: int
    expected: list[float]
    reports: int


class ExperimentFigures(_Strict):
    trigger: str
    control: str
    arms: list[ArmFigures]
    comparisons: list[Comparison]
    srm: SampleRatio | Withheld | None


class ModeExperiments(_Strict):
    experiments: list[ExperimentFigures]
    #: arms carried by fewer than 50 reports: not listed
    withheld_arms: int


class Experiments(_Strict):
    msprt_tau: float
    srm_threshold: float
    weights: list[float] | None
    unlinkable: ModeExperiments
    ldp: ModeExperiments


class LatencyHealth(_Strict):
    """A trigger's latency histogram (shares per bucket) and quantiles."""

    reports: int
    of: Literal["decisions", "session_medians"]
    histogram: list[float]
    p50_ms: float
    p99_ms: float
    budget_ms: float
    within_budget: bool


class Alert(_Strict):
    alert: Literal["dismissals_spike", "saturated", "over_budget"]
    value: float
    threshold: float
    message: str


class TriggerHealth(_Strict):
    trigger: str
    reports: int
    funnel: dict[str, Figure]
    fires_per_hour: Figure
    gate_confirmation: Figure | None
    dismissal_rate: Figure | None
    latency: LatencyHealth | Withheld | None
    alerts: list[Alert]


class ModeHealth(_Strict):
    reports: int
    hours: int
    first_hour: int | None
    last_hour: int | None
    triggers: list[TriggerHealth]
    #: triggers carried by fewer than 50 reports: not listed
    withheld_triggers: int


class Health(_Strict):
    latency_budget_ms: float
    dismissal_target: float
    recent_hours: int
    unlinkable: ModeHealth
    ldp: ModeHealth


class ReportFigures(_Strict):
    site: str
    min_reports: int
    confidence: float
    latency_buckets_ms: list[tuple[int, int | None]]
    unlinkable: ModeFigures
    ldp: ModeFigures
    experiments: Experiments
    health: Health
