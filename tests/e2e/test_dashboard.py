"""`GET /dashboard` in Chromium: a simulated week of traffic, every plot drawn.

The collector is the e2e server's own (`pytrigger serve` on SQLite); a site
of its own, `dashweek`, is registered in its database and filled with a week
of page-session reports built by AggregateBuilder (hours spread over 7 x 24),
so the `demo` site the other tests use is left alone:

- `quick-search`: an experiment, arms A and B (B converts 14 % better);
- `exit-intent`: fires in about 70 % of the sessions (alert `saturated`);
- `rage-help`: dismissed in 3 % of its fires, then 25 % in the last 24 hours
  (alert `dismissals_spike`), a few slow decisions (alert `over_budget`);
- `dwell-card`: carried by ~150 reports but fired in ~30: its dismissal rate
  and latency are below the 50-report floor and must read "withheld (n reports)";
- `rare-tip`: carried by 20 reports: not listed at all, counted as withheld.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from e2ekit import Site
from playwright.sync_api import ConsoleMessage

from pytrigger.aggregates import AggregateBuilder
from pytrigger.collector import store
from pytrigger.decisions import Decision
from pytrigger.triggers import Privacy

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SITE = "dashweek"
TRIGGERS: list[tuple[str, list[str | None]]] = [
    ("quick-search", ["A", "B"]),
    ("exit-intent", [None]),
    ("rage-help", [None]),
    ("dwell-card", [None]),
    ("rare-tip", [None]),
]
HOURS = 7 * 24
SESSIONS_PER_HOUR = 18


def _session(rng: random.Random, hour: int, recent: bool) -> dict[str, Any]:
    """One page session's report."""
    builder = AggregateBuilder(SITE, Privacy(), TRIGGERS, ["new", "power"])
    builder.set_segment(rng.choice(["new", "power", None]))
    fired: list[str] = []

    def fire(trigger: str, arm: str | None, ms: float) -> None:
        builder.decision(Decision(1.0, trigger, "fire", variant=arm))
        builder.latency(trigger, arm, ms, replayed=False)
        fired.append(trigger)

    if rng.random() < 0.6:
        arm = rng.choice(["A", "B"])
        builder.exposure("quick-search", arm)
        builder.decision(Decision(1.0, "quick-search", "gate", variant=arm))
        if rng.random() < 0.7:
            fire("quick-search", arm, rng.lognormvariate(3.6, 0.5))
            if rng.random() < (0.10 if arm == "A" else 0.114) / 0.7:
                builder.goal("search")
    if rng.random() < 0.7:
        builder.exposure("exit-intent", None)
        fire("exit-intent", None, rng.lognormvariate(2.7, 0.4))
    if rng.random() < 0.3:
        builder.exposure("rage-help", None)
        slow = rng.random() < 0.02
        fire("rage-help", None, rng.uniform(600, 900) if slow else rng.lognormvariate(4, 0.3))
        if rng.random() < (0.25 if recent else 0.03):
            builder.dismiss("rage-help")
    if rng.random() < 0.05:
        builder.exposure("dwell-card", None)
        if rng.random() < 0.2:
            fire("dwell-card", None, rng.lognormvariate(5, 0.3))
    return builder.build(hour * 3_600_000 + rng.uniform(0, 3_599_999), rng)


def _fill(collector_db: Path) -> None:
    engine = store.connect(f"sqlite:///{collector_db}")
    try:
        site = store.find_site(engine, SITE) or store.add_site(
            engine, SITE, ["http://127.0.0.1"], key=SITE
        )
        if store.count_reports(engine, site.id):
            return  # filled by an earlier test of this session
        rng = random.Random(7)
        last = int(time.time() // 3600)
        for h in range(HOURS):
            hour = last - HOURS + 1 + h
            for _ in range(SESSIONS_PER_HOUR):
                store.insert_report(engine, site.id, _session(rng, hour, h >= HOURS - 24), last)
        for _ in range(20):  # rare-tip: a trigger below the floor
            builder = AggregateBuilder(SITE, Privacy(), TRIGGERS, [])
            builder.exposure("rare-tip", None)
            store.insert_report(engine, site.id, builder.build(last * 3_600_000.0, rng), last)
    finally:
        engine.dispose()


def _report(server: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server}/v1/report?site={SITE}", timeout=30) as response:
        found: dict[str, Any] = json.load(response)
    return found


def test_dashboard_draws_a_week_of_traffic(
    site: Site, server: str, collector_db: Path, screenshots: Path
) -> None:
    _fill(collector_db)
    report = _report(server)
    health = {t["trigger"]: t for t in report["health"]["unlinkable"]["triggers"]}
    assert set(health) == {"quick-search", "exit-intent", "rage-help", "dwell-card"}
    assert report["health"]["unlinkable"]["withheld_triggers"] == 1  # rare-tip
    assert report["health"]["unlinkable"]["hours"] == HOURS
    alerts = {(t, a["alert"]) for t, h in health.items() for a in h["alerts"]}
    assert {("exit-intent", "saturated"), ("rage-help", "dismissals_spike")} <= alerts
    assert ("rage-help", "over_budget") in alerts
    dwell = health["dwell-card"]
    assert dwell["latency"]["withheld"] is True and dwell["dismissal_rate"]["withheld"] is True
    (experiment,) = report["experiments"]["unlinkable"]["experiments"]
    assert [a["arm"] for a in experiment["arms"]] == ["A", "B"]
    assert all(a["exposures"]["reports"] >= 50 for a in experiment["arms"])

    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            console.append(f"{message.type}: {message.text}")

    site.page.on("console", on_console)
    response = site.page.goto(site.url(f"/dashboard?site={SITE}"))
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    deadline = time.monotonic() + 20
    while site.evaluate("document.body.dataset.state") == "loading":
        assert time.monotonic() < deadline, "the dashboard did not finish loading"
        site.pause(50)
    assert site.evaluate("document.body.dataset.state") == "ready", site.evaluate(
        "document.getElementById('status').textContent"
    )

    page = site.page
    # every plot that is not withheld is a drawn uPlot canvas
    charts = page.locator("[data-chart]:not([data-withheld])")
    # 4 funnels, 3 latency histograms (dwell-card's is withheld), 1 lift
    assert charts.count() == 8
    for i in range(charts.count()):
        canvas = charts.nth(i).locator("canvas")
        assert canvas.count() == 1, charts.nth(i).get_attribute("data-chart")
        box = canvas.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('[data-chart] canvas')].map((c) => {
             const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             let ink = 0;
             for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
             return ink;
           })"""
    )
    assert len(drawn) == 8 and all(ink > 500 for ink in drawn), drawn

    # the withheld figures read as withheld, with their base
    card = page.locator('article.trigger[data-trigger="dwell-card"]')
    latency_reports = dwell["latency"]["reports"]
    placeholder = card.locator('[data-chart="latency"][data-withheld]')
    assert placeholder.text_content() == f"withheld ({latency_reports} reports)"
    assert f"withheld ({dwell['dismissal_rate']['reports']} reports)" in str(card.text_content())
    withheld_note = page.locator('section[data-mode="unlinkable"] .withheld').first
    assert "1 trigger(s) carried by fewer than 50 reports" in str(withheld_note.text_content())
    assert page.locator('article[data-trigger="rare-tip"]').count() == 0

    shown = {
        (item.get_attribute("data-trigger"), item.get_attribute("data-alert"))
        for item in page.locator("#alert-list li.alert").all()
    }
    assert {("exit-intent", "saturated"), ("rage-help", "dismissals_spike")} <= shown
    assert page.locator('article.experiment[data-trigger="quick-search"]').count() == 1

    assert site.problems() == []  # no CSP violation, no unhandled rejection
    assert console == []
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)


def test_dashboard_assets_but_not_the_page_under_the_prefix(server: str) -> None:
    for path, kind in (
        ("/dashboard/dashboard.js", "text/javascript"),
        ("/dashboard/uPlot.iife.min.js", "text/javascript"),
        ("/dashboard/uPlot.min.css", "text/css"),
    ):
        with urllib.request.urlopen(server + path, timeout=10) as response:
            assert response.headers["content-type"].startswith(kind)
    for path in ("/dashboard/index.html", "/dashboard/"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(server + path, timeout=10)
        assert refused.value.code == 404
