"""Figure 3: event-to-decision latency (`pytrigger:fire` `latencyMs`)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from playwright.sync_api import Browser, Page

from .common import (
    Plan,
    Visit,
    fmt,
    section,
    yes,
)
from .kit import (
    Servers,
    log,
    percentile,
)

# --------------------------------------------------------------------------- 3. latency


def drive_latency(page: Page, plan: Plan) -> None:
    """Keydowns 100 ms apart (each a fresh rise of `keystrokes` in 50 ms), clicks alternating
    near/far on the pad (`rage_clicks eq 1` rises on every far one), dwells on the cards
    (`dwell_ms gte 100`: a deadline)."""
    box = page.locator("#search").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 20, box["y"] + box["height"] / 2)
    for i in range(plan.latency_keys):
        page.keyboard.press("a" if i % 20 else "Backspace")
        page.wait_for_timeout(100)
    pad = page.locator("#pad").bounding_box()
    assert pad is not None
    left = (pad["x"] + 60, pad["y"] + 60)
    right = (pad["x"] + 300, pad["y"] + 60)
    for i in range(plan.latency_clicks):
        x, y = (left, right)[(i // 2) % 2]
        page.mouse.click(x + (3 if i % 2 else 0), y)
        page.wait_for_timeout(100)
    cards = [page.locator(".card").nth(i).bounding_box() for i in range(2)]
    for i in range(plan.latency_dwells):
        card = cards[i % 2]
        assert card is not None
        page.mouse.move(card["x"] + 100, card["y"] + 60, steps=2)
        page.wait_for_timeout(220)
        page.mouse.move(card["x"] + 100, card["y"] + 200, steps=2)
        page.wait_for_timeout(80)
    page.wait_for_timeout(500)


def figure_latency(browser: Browser, servers: Servers, plan: Plan) -> tuple[str, dict[str, Any]]:
    found: dict[str, dict[str, list[float]]] = {}
    replayed: dict[str, int] = {}
    for mode in ("worker", "main"):
        log(f"latency: {mode}")
        with Visit(browser, inputs=False, timing=False) as visit:
            visit.open(servers, f"/bench/latency-{mode}/", mode, settle_ms=500)
            drive_latency(visit.page, plan)
            events = [e for e in visit.recorded()["events"] if e["type"] == "fire"]
        by: dict[str, list[float]] = defaultdict(list)
        for e in events:
            if not e["detail"]["replayed"]:
                by[e["detail"]["trigger"]].append(e["detail"]["latencyMs"])
                by["all"].append(e["detail"]["latencyMs"])
        found[mode] = by
        replayed[mode] = sum(1 for e in events if e["detail"]["replayed"])
    rows = [
        "| mode | decided by | fires | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    names = {
        "on-key": "keydown",
        "on-click": "click",
        "on-deadline": "deadline (dwell 100 ms)",
        "all": "**all**",
    }
    for mode in ("worker", "main"):
        for trigger, label in names.items():
            values = found[mode].get(trigger, [])
            rows.append(
                f"| {mode} | {label} | {len(values)} | {fmt(percentile(values, 50), 2)} | "
                f"{fmt(percentile(values, 90), 2)} | {fmt(percentile(values, 99), 2)} | "
                f"{fmt(max(values) if values else math.nan, 2)} |"
            )
    p99 = percentile(found["worker"].get("all", []), 99)
    rows += [
        "",
        f"`latencyMs` of every non-replayed `pytrigger:fire` (replayed: worker "
        f"{replayed['worker']}, main {replayed['main']}): the time from the decision's moment "
        "(the deciding event's `timeStamp`, or the deadline) to the action applied, through "
        "the real path (shim → worker → engine → shim). Three triggers that re-arm at once "
        "(cool-down 1 ms, back-off 1, no cap), driven by real input: "
        f"{plan.latency_keys} key presses 100 ms apart, {plan.latency_clicks} clicks alternating "
        f"near/far, {plan.latency_dwells} dwells of 220 ms on a card.",
        "",
        f"Target: p99 < 16 ms (worker) — {fmt(p99, 2)} ms, {yes(p99 < 16)}.",
    ]
    return section("Browser: event-to-decision latency", rows), found
