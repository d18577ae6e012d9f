"""Trigger health (pytrigger.collector.health_report): the figures on
hand-made counts, then from stored reports of both modes, on both databases."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from pytrigger.aggregates import AggregateBuilder, latency_bucket
from pytrigger.collector import store
from pytrigger.collector.estimators import histogram_quantile
from pytrigger.collector.health_report import TriggerCounts, build_health, unlinkable_health
from pytrigger.decisions import Decision
from pytrigger.privacy import Z_95, wilson
from pytrigger.triggers import Privacy

# -- hand-made counts -----------------------------------------------------------


def _latency(**buckets: int) -> tuple[int, ...]:
    out = [0] * 14
    for name, count in buckets.items():
        out[int(name[1:])] = count
    return tuple(out)


RECENT = TriggerCounts(
    reports=200, exposed=200, gated=150, confirmed=100, fired=100, dismissed=10, converted=20,
    fires=120, fires_squared=160, latency=_latency(b5=90, b10=10), timed=100,
)  # fmt: skip
BEFORE = TriggerCounts(
    reports=500, exposed=500, gated=400, confirmed=300, fired=300, dismissed=6, converted=60,
    fires=330, fires_squared=400, latency=_latency(b5=300), timed=300,
)  # fmt: skip


def test_unlinkable_figures() -> None:
    found = unlinkable_health("help", 1_000, 10, RECENT, BEFORE)
    assert found["reports"] == 700
    fire = found["funnel"]["fire"]
    assert (fire["estimate"], fire["reports"]) == (0.4, 1_000)
    assert fire["low"] == wilson(400, 1_000).low
    assert found["funnel"]["exposure"]["estimate"] == 0.7
    assert found["funnel"]["gate"]["estimate"] == 0.55
    assert found["funnel"]["goal"]["estimate"] == 0.08
    # 450 fires in 10 hours; per-report variance 560/1000 - 0.45² = 0.3575, of the total: times 1000
    per_hour = found["fires_per_hour"]
    assert per_hour["estimate"] == 45.0
    assert per_hour["high"] == pytest.approx(45 + Z_95 * math.sqrt(357.5) / 10)
    assert found["gate_confirmation"]["estimate"] == pytest.approx(400 / 550)
    assert found["gate_confirmation"]["reports"] == 550
    assert found["dismissal_rate"]["estimate"] == pytest.approx(16 / 400)
    latency = found["latency"]
    assert latency["of"] == "decisions" and latency["reports"] == 400
    # 390 decisions in [16, 32), 10 in [512, 1024): p50 at rank 200, p99 at 396
    assert latency["p50_ms"] == pytest.approx(16 + 16 * 200 / 390)
    assert latency["p99_ms"] == pytest.approx(512 + 512 * 6 / 10)
    assert latency["histogram"][5] == pytest.approx(390 / 400)
    assert latency["within_budget"] is False
    alerts = {a["alert"]: a for a in found["alerts"]}
    # recent 10 % against max(2 x 2 %, 5 %)
    assert alerts["dismissals_spike"]["value"] == pytest.approx(0.1)
    assert alerts["dismissals_spike"]["threshold"] == pytest.approx(0.05)
    assert alerts["over_budget"]["value"] == pytest.approx(819.2)
    assert "saturated" not in alerts


def _with(counts: TriggerCounts, **changes: Any) -> TriggerCounts:
    fields = {name: getattr(counts, name) for name in TriggerCounts.__dataclass_fields__}
    return TriggerCounts(**(fields | changes))


def test_dismissal_spike_rules() -> None:
    def spikes(recent: TriggerCounts, before: TriggerCounts) -> bool:
        found = unlinkable_health("help", 1_000, 10, recent, before)
        return any(a["alert"] == "dismissals_spike" for a in found["alerts"])

    assert spikes(RECENT, BEFORE)
    # 7 % recent, 4 % before: under max(8 %, 5 %)
    assert not spikes(_with(RECENT, dismissed=7), _with(BEFORE, dismissed=12))
    # 9 % recent, 4 % before: over 8 %
    assert spikes(_with(RECENT, dismissed=9), _with(BEFORE, dismissed=12))
    # 4.5 % recent, 1 % before: twice as high, but under the 5 % floor
    assert not spikes(_with(RECENT, dismissed=4, fired=90), _with(BEFORE, dismissed=3))
    # fewer than 50 fired reports in a window: no comparison
    assert not spikes(_with(RECENT, fired=49, dismissed=20), BEFORE)
    assert not spikes(RECENT, _with(BEFORE, fired=49, dismissed=0))


def test_saturated_and_floors() -> None:
    found = unlinkable_health("help", 700, 10, RECENT, _with(BEFORE, fired=320))
    saturated = [a for a in found["alerts"] if a["alert"] == "saturated"]
    assert saturated and saturated[0]["value"] == pytest.approx(420 / 700)

    few = TriggerCounts(reports=80, exposed=80, fired=30, dismissed=3, fires=30,
                        fires_squared=30, latency=_latency(b5=30), timed=30)  # fmt: skip
    found = unlinkable_health("tip", 1_000, 10, few, TriggerCounts())
    assert found["dismissal_rate"] == {"withheld": True, "reports": 30}
    assert found["latency"] == {"withheld": True, "reports": 30}
    assert found["gate_confirmation"] is None  # no report had a gate
    assert found["alerts"] == []
    quiet = unlinkable_health("tip", 1_000, 10, _with(few, fired=0, timed=0), TriggerCounts())
    assert quiet["dismissal_rate"] is None and quiet["latency"] is None


# -- from stored reports --------------------------------------------------------

TRIGGERS: list[tuple[str, list[str | None]]] = [("help", ["A", "B"]), ("rare", [None])]
FIRST_HOUR = 480_000
HOURS = 48


def _session(i: int, privacy: Privacy, rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """Session ``i``: 'help' exposed and gated; fired unless i % 4 == 3;
    dismissed (when fired) in 1 of 5 recent sessions, 1 of 25 before; slow
    (700 ms) when i % 50 == 0; a goal when i % 8 == 0."""
    hour = FIRST_HOUR + i % HOURS
    recent = hour >= FIRST_HOUR + HOURS - 24
    builder = AggregateBuilder("shop", privacy, TRIGGERS, [])
    arm = "AB"[i % 2]
    builder.exposure("help", arm)
    builder.decision(Decision(1.0, "help", "gate", variant=arm))
    truth: dict[str, Any] = {"hour": hour, "recent": recent, "fired": i % 4 != 3, "dismissed": 0}
    if truth["fired"]:
        builder.decision(Decision(1.0, "help", "fire", variant=arm))
        ms = 700.0 if i % 50 == 0 else 20.0
        truth["ms"] = ms
        builder.latency("help", arm, ms, replayed=False)
        if i % (5 if recent else 25) == 0:
            builder.dismiss("help")
            truth["dismissed"] = True
        if i % 8 == 0:
            builder.goal("signup")
    return builder.build(hour * 3_600_000.0, rng), truth


def _fill(db_url: str, privacy: Privacy, n: int) -> tuple[Any, Any, list[dict[str, Any]]]:
    engine = store.connect(db_url)
    site = store.add_site(engine, "shop", ["https://shop.example"])
    rng = random.Random(11)
    truths = []
    for i in range(n):
        report, truth = _session(i, privacy, rng)
        store.insert_report(engine, site.id, report, truth["hour"])
        truths.append(truth)
    for _ in range(10):  # 'rare': under the floor
        builder = AggregateBuilder("shop", privacy, TRIGGERS, [])
        builder.exposure("rare", None)
        store.insert_report(engine, site.id, builder.build(FIRST_HOUR * 3_600_000.0, rng), 0)
    return engine, site, truths


def test_stored_unlinkable_reports(db_url: str) -> None:
    engine, site, truths = _fill(db_url, Privacy(), 600)
    try:
        mode = build_health(engine, site)["unlinkable"]
    finally:
        engine.dispose()
    assert (mode["reports"], mode["hours"], mode["first_hour"]) == (610, HOURS, FIRST_HOUR)
    assert mode["withheld_triggers"] == 1
    (found,) = mode["triggers"]
    fired = [t for t in truths if t["fired"]]
    assert found["trigger"] == "help" and found["reports"] == 600  # the arms pooled
    assert found["funnel"]["fire"]["estimate"] == pytest.approx(len(fired) / 610)
    assert found["fires_per_hour"]["estimate"] == pytest.approx(len(fired) / HOURS)
    assert found["gate_confirmation"]["estimate"] == pytest.approx(len(fired) / 600)
    dismissed = sum(t["dismissed"] for t in fired)
    assert found["dismissal_rate"]["estimate"] == pytest.approx(dismissed / len(fired))
    histogram = [0] * 14
    for t in fired:
        histogram[latency_bucket(t["ms"])] += 1
    assert found["latency"]["p50_ms"] == pytest.approx(histogram_quantile(histogram, 0.5))
    assert found["latency"]["p99_ms"] == pytest.approx(histogram_quantile(histogram, 0.99))
    assert {a["alert"] for a in found["alerts"]} == {"saturated", "dismissals_spike", "over_budget"}


def test_the_window_restricts_the_hours(db_url: str) -> None:
    engine, site, _ = _fill(db_url, Privacy(), 600)
    try:
        early = build_health(engine, site, until=FIRST_HOUR + 23)["unlinkable"]
    finally:
        engine.dispose()
    assert early["hours"] == 24 and early["last_hour"] == FIRST_HOUR + 23
    (found,) = early["triggers"]
    # the first day alone is all "recent": nothing before it to compare, no spike
    assert "dismissals_spike" not in {a["alert"] for a in found["alerts"]}


def test_stored_ldp_reports_are_debiased(db_url: str) -> None:
    n = 3_000
    engine, site, truths = _fill(db_url, Privacy("ldp", 2.0), n)
    try:
        mode = build_health(engine, site)["ldp"]
    finally:
        engine.dispose()
    assert mode["reports"] == n + 10
    # ldp reports carry every trigger: 'rare' is listed, its exposure tiny
    found = {t["trigger"]: t for t in mode["triggers"]}
    help_ = found["help"]
    fired = sum(t["fired"] for t in truths) / (n + 10)
    # ε = 2: p - q = 0.76; the widest standard error of a share summed over 2 arms
    se = math.sqrt(2 * 0.25 / ((n + 10) * 0.76**2))
    for name, truth in (("exposure", n / (n + 10)), ("gate", n / (n + 10)), ("fire", fired)):
        figure = help_["funnel"][name]
        assert abs(figure["estimate"] - truth) < 4 * se, (name, figure)
        assert figure["reports"] == n + 10
    rate = help_["dismissal_rate"]
    dismissed = sum(t["dismissed"] for t in truths) / sum(t["fired"] for t in truths)
    assert rate["low"] - 0.02 <= dismissed <= rate["high"] + 0.02, rate
    latency = help_["latency"]
    assert latency["of"] == "session_medians"
    assert 16 <= latency["p50_ms"] < 32  # most sessions' median is 20 ms
    assert found["rare"]["latency"] is None  # no latency samples: not significant
    assert found["rare"]["funnel"]["exposure"]["estimate"] < 4 * se
