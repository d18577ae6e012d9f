"""Segments, adaptation and experiment arms in the page (DESIGN.md §6), with real input.

A returning visitor's local state is seeded through the page itself: an init
script writes `localStorage` (the consent flag and `pytrigger:state`) before
any page script runs, exactly where the shim stored it on an earlier visit.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2ekit import RECORDER, ROOT, Site
from playwright.sync_api import Browser

from pytrigger.config import load_config
from pytrigger.experiments import assign

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SEGMENTS_CONFIG = (ROOT / "examples" / "segments" / "config.json").read_text()
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>segments</title>
<script src="/pytrigger/pytrigger.js" data-config="/t/config.json" {extra} defer></script>
</head><body><input id="search" autocomplete="off" style="margin: 60px; width: 300px">
</body></html>"""
POWER_STATE = {"version": 1, "sessions": 8, "typing_rate": 6.5,
               "last": {"rage_clicks": 0, "hesitation_ms": 3000, "dismissals": 0}}  # fmt: skip


def seed(site: Site, state: dict[str, Any]) -> None:
    """A returning visitor's storage, as an earlier visit left it (once: a reload
    then finds what this visit stored)."""
    site.page.add_init_script(
        "if (!localStorage.getItem('pytrigger:state')) {"
        " localStorage.setItem('pytrigger:consent', 'granted');"
        f" localStorage.setItem('pytrigger:state', {json.dumps(json.dumps(state))}); }}"
    )


def open_page(site: Site, config: str = SEGMENTS_CONFIG, extra: str = "") -> None:
    site.serve("/t/config.json", config, "application/json")
    site.serve("/t/s", PAGE.format(extra=extra))
    site.goto("/t/s")
    site.ready()


def type_then_pause(site: Site, ms: float) -> None:
    site.page.click("#search")
    site.page.keyboard.type("tent", delay=60)
    site.pause(ms)


def test_new_and_power_visitors_get_different_thresholds(browser: Browser, server: str) -> None:
    sites = []
    for state in (None, POWER_STATE):
        context = browser.new_context(viewport={"width": 1280, "height": 720})

        context.add_init_script(RECORDER)
        site = Site(context.new_page(), server)
        if state is not None:
            seed(site, state)
        open_page(site)
        sites.append(site)
    new, power = sites
    try:
        for site in sites:  # the same input on the same page
            type_then_pause(site, 1700)
        fired = new.wait("fire", "search-help", timeout=1)
        assert fired["detail"]["segment"] == "new"  # 1 s + 200 ms after the last key
        assert power.events("fire") == []  # a power user is left alone for 2 s + 450 ms
        fired = power.wait("fire", "search-help", timeout=3)
        assert fired["detail"]["segment"] == "power"
    finally:
        for site in sites:
            site.page.context.close()


def test_local_state_is_kept_only_with_consent_and_counts_sessions(site: Site) -> None:
    open_page(site, extra='data-consent="opt-in"')
    type_then_pause(site, 1500)
    assert site.wait("fire", "search-help")["detail"]["segment"] == "new"
    assert site.evaluate("Object.keys(localStorage)") == []  # no consent: nothing kept

    site.evaluate("pytrigger.consent(true)")
    site.pause(300)
    state = json.loads(site.evaluate("localStorage.getItem('pytrigger:state')"))
    assert state["sessions"] == 1
    site.page.reload()
    site.ready()
    type_then_pause(site, 2900)  # a returning visitor with one session: the base trigger
    assert site.wait("fire", "search-help")["detail"]["segment"] is None
    assert json.loads(site.evaluate("localStorage.getItem('pytrigger:state')"))["sessions"] == 2


def test_a_dismissed_prompt_waits_longer_next_time(site: Site) -> None:
    seed(site, {**POWER_STATE, "sessions": 2, "typing_rate": 1.0})  # no segment
    open_page(site)
    type_then_pause(site, 3000)
    site.wait("fire", "search-help")
    site.page.click(".pytrigger-toast-close")  # the visitor dismisses it
    site.pause(300)
    state = json.loads(site.evaluate("localStorage.getItem('pytrigger:state')"))
    assert state["dismissals"] == {"search-help": 1}
    # the next page: 2.5 s x 1.25 = 3.125 s (the 4 s end of the window becomes 3.2 s)
    site.page.reload()
    site.ready()
    type_then_pause(site, 3000)
    assert site.events("fire") == []  # the base 2.5 s (+300 ms hold) is no longer enough
    fired = site.wait("fire", "search-help", timeout=2)
    assert fired["detail"]["segment"] is None


EXPERIMENT = {
    "version": 1,
    "triggers": [{
        "id": "search-help", "target": "#search",
        "when": {"signal": "hesitation_ms", "gte": 800},
        "experiment": {"key": "search-prompt", "arms": [
            {"name": "control"},
            {"name": "eager", "override": {"when": {"signal": "hesitation_ms", "gte": 400}}},
        ]},
    }],
}  # fmt: skip


def test_two_visitors_land_in_the_arms_assignment_predicts(browser: Browser, server: str) -> None:
    experiment = load_config(EXPERIMENT).triggers[0].experiment
    assert experiment is not None
    by_arm: dict[str, str] = {}
    for n in range(100):  # the first unit id of each arm, by the conformance-tested hash
        arm = assign(experiment, f"visitor-{n}")
        assert arm is not None
        by_arm.setdefault(arm.name, f"visitor-{n}")
    assert set(by_arm) == {"control", "eager"}

    for arm, unit in by_arm.items():
        context = browser.new_context()
        context.add_init_script(RECORDER)
        site = Site(context.new_page(), server)
        try:
            open_page(site, json.dumps(EXPERIMENT), extra=f'data-unit-id="{unit}"')
            type_then_pause(site, 1200)
            fired = site.wait("fire", "search-help")
            assert fired["detail"]["variant"] == arm
            stats = site.evaluate("pytrigger.stats()")
            (entry,) = stats["report"]["triggers"]
            assert entry["arm"] == arm and entry["exposure"] == 1
            assert unit not in json.dumps(stats["report"])  # the unit id is never in a report
        finally:
            context.close()


def test_with_consent_a_visitor_keeps_their_arm_across_pages(site: Site) -> None:
    open_page(site, json.dumps(EXPERIMENT), extra='data-consent="granted"')
    type_then_pause(site, 1200)
    first = site.wait("fire", "search-help")["detail"]["variant"]
    unit = site.evaluate("localStorage.getItem('pytrigger:unit')")
    assert unit and first in ("control", "eager")
    for _ in range(2):
        site.page.reload()
        site.ready()
        type_then_pause(site, 1200)
        assert site.wait("fire", "search-help")["detail"]["variant"] == first
    assert site.evaluate("localStorage.getItem('pytrigger:unit')") == unit
