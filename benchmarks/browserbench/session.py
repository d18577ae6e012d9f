"""Figures 1 and 2: main-thread cost of a scripted session, and added cost per input event."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from playwright.sync_api import Browser

from .common import (
    DASH,
    LABEL,
    SESSION_VARIANTS,
    TIMES,
    VARIANTS,
    Plan,
    Visit,
    fmt,
    page_for,
    section,
    yes,
)
from .kit import (
    PageCPU,
    Servers,
    log,
    median,
    percentile,
)
from .peer import posthog_version
from .visitor import Layout, SessionCounts, drive_session

# --------------------------------------------------------------------------- 1. session


def interaction_p75(timing: list[dict[str, Any]], names: set[str], total: int) -> tuple[float, int]:
    """p75 of per-interaction Event Timing duration; interactions the API did not report
    (< 16 ms) count as 0. Returns (p75 or 0 for "< 16", how many were >= 16 ms)."""
    worst: dict[int, float] = {}
    for entry in timing:
        if entry["name"] in names and entry["id"]:
            worst[entry["id"]] = max(worst.get(entry["id"], 0.0), entry["duration"])
    reported = list(worst.values())
    padded = reported + [0.0] * max(0, total - len(reported))
    return (percentile(padded, 75) if padded else math.nan), len(reported)


SLICE_S = 10.0  # one cycle of the scripted visitor


class SessionPage:
    """One variant's page for the session figure, driven in slices: every variant's page
    stays open, and the slices take turns, so a change in the machine's load is shared by
    all variants instead of landing on one."""

    def __init__(self, browser: Browser, servers: Servers, variant: str) -> None:
        self.variant = variant
        self.visit = Visit(browser)
        try:
            self.visit.open(servers, page_for(variant), variant)
            self.loaded = self.visit.metrics()
            self.layout = Layout.read(self.visit.page)
            self.cpu = PageCPU(self.visit.page)
        except BaseException:
            self.visit.close()
            raise
        self.counts = SessionCounts()
        self.windows: list[tuple[float, float]] = []
        self.total: defaultdict[str, float] = defaultdict(float)

    def run_slice(self, seconds: float, seed: int) -> None:
        page = self.visit.page
        metrics, cpu = self.visit.metrics(), self.cpu.read()
        start = page.evaluate("performance.now()")
        self.counts.add(drive_session(page, seconds, seed=seed, layout=self.layout))
        page.wait_for_timeout(1000)  # what the input left to do (batches, timers) runs
        ended, cpu_end = self.visit.metrics(), self.cpu.read()
        self.windows.append((start, page.evaluate("performance.now()")))
        self.total["script"] += (ended["ScriptDuration"] - metrics["ScriptDuration"]) * 1000
        self.total["task"] += (ended["TaskDuration"] - metrics["TaskDuration"]) * 1000
        self.total["cpu_main"] += cpu_end["main"] - cpu["main"]
        self.total["cpu_worker"] += cpu_end["worker"] - cpu["worker"]

    def finish(self, servers: Servers) -> dict[str, Any]:
        try:
            heap = self.visit.heap_after_gc()
            data = self.visit.recorded()
            peer = servers.peer.log.snapshot() if self.variant == "posthog" else None
            errors = list(self.visit.errors)
        finally:
            self.visit.close()
        counts = self.counts
        minutes = counts.seconds / 60
        first = self.windows[0][0]
        inside = [x for x in data["long"] if any(a <= x["start"] <= b for a, b in self.windows)]
        at_load = [x for x in data["long"] if x["start"] < first]
        click_p75, click_slow = interaction_p75(
            data["timing"], {"pointerdown", "pointerup", "click"}, counts.clicks
        )
        key_p75, key_slow = interaction_p75(
            data["timing"], {"keydown", "keyup", "keypress"}, counts.keys
        )
        delays = [d["ms"] for d in data["delays"]]
        fires = Counter(e["detail"]["trigger"] for e in data["events"] if e["type"] == "fire")
        return {
            "variant": self.variant,
            "counts": counts,
            "script_ms_min": self.total["script"] / minutes,
            "task_ms_min": self.total["task"] / minutes,
            "cpu_main_min": self.total["cpu_main"] / minutes,
            "cpu_worker_min": self.total["cpu_worker"] / minutes,
            "load_script_ms": self.loaded["ScriptDuration"] * 1000,
            "long_load": (len(at_load), sum(x["duration"] for x in at_load)),
            "long_session": (len(inside), sum(x["duration"] for x in inside)),
            "click_p75": click_p75,
            "click_slow": click_slow,
            "key_p75": key_p75,
            "key_slow": key_slow,
            "delay_p75": percentile(delays, 75),
            "delay_p99": percentile(delays, 99),
            "heap_used": heap["usedSize"],
            "fires": dict(fires),
            "peer": peer,
            "errors": errors,
        }


def run_sessions(browser: Browser, servers: Servers, seconds: float) -> dict[str, Any]:
    pages: dict[str, SessionPage] = {}
    results: dict[str, Any] = {}
    try:
        for variant in SESSION_VARIANTS:
            log(f"session: opening {variant}")
            pages[variant] = SessionPage(browser, servers, variant)
        slices = max(1, round(seconds / SLICE_S))
        for i in range(slices):
            order = (
                SESSION_VARIANTS[i % len(SESSION_VARIANTS) :]
                + SESSION_VARIANTS[: i % len(SESSION_VARIANTS)]
            )
            log(f"session: slice {i + 1}/{slices} ({', '.join(order)})")
            for variant in order:
                pages[variant].run_slice(SLICE_S, seed=1000 + i)
        for variant in SESSION_VARIANTS:
            results[variant] = pages.pop(variant).finish(servers)
    finally:
        for page in pages.values():
            page.visit.close()
    return results


def p75_cell(p75: float, slow: int, total: int) -> str:
    if math.isnan(p75):
        return DASH
    shown = "< 16" if p75 == 0 else fmt(p75, 0)
    return f"{shown} ({slow}/{total} ≥ 16)"


def before_after(results: dict[str, Any]) -> str:
    """The shim before issue 6's optimisations against the shim now, from this one run."""
    bare, before, now = results["bare"], results["worker-before"], results["worker"]
    listen, raf = results["bare-listen"], results["bare-raf"]

    def delta(r: dict[str, Any], key: str) -> float:
        return float(r[key] - bare[key])

    parts = []
    for key, name in (
        ("script_ms_min", "main-thread script over the bare page"),
        ("cpu_main_min", "main-thread CPU over the bare page"),
        ("cpu_worker_min", "worker CPU"),
    ):
        b = delta(before, key) if key != "cpu_worker_min" else before[key]
        a = delta(now, key) if key != "cpu_worker_min" else now[key]
        ratio = f" ({b / a:.1f}{TIMES} less)" if a > 0 and b > a else ""
        parts.append(f"{name} {fmt(b, 0)} → {fmt(a, 0)} ms/min{ratio}")
    heap_b = (before["heap_used"] - bare["heap_used"]) / 1e6
    heap_a = (now["heap_used"] - bare["heap_used"]) / 1e6
    return (
        "Before and after, in this run: the shim at commit e3ccb6b (before issue 6's "
        "optimisations) against the shim now, with the same worker and triggers: "
        + "; ".join(parts)
        + f"; JS heap over the bare page {fmt(heap_b, 3)} → {fmt(heap_a, 3)} MB. The floors: "
        f"the shim's listeners with nothing in them cost {fmt(delta(listen, 'script_ms_min'))} "
        f"ms/min of script (pointermove's alone is most of it, which is why the shim now "
        f"listens to moves only while one can count), and a no-op requestAnimationFrame per "
        f"moving frame {fmt(delta(raf, 'script_ms_min'))} ms/min (why nothing runs per frame)."
    )


def figure_session(browser: Browser, servers: Servers, plan: Plan) -> tuple[str, dict[str, Any]]:
    results = run_sessions(browser, servers, plan.session_s)
    bare = results["bare"]
    rows = [
        "| | script ms/min | Δ vs bare | task ms/min | Δ vs bare | main-thread CPU ms/min | "
        "Δ vs bare | worker CPU ms/min | long tasks at load (n, ms) | long tasks in session "
        "(n, ms) | script ms, load → settled |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in SESSION_VARIANTS:
        r = results[variant]
        rows.append(
            f"| {LABEL[variant]} | {fmt(r['script_ms_min'])} | "
            f"{fmt(r['script_ms_min'] - bare['script_ms_min'])} | {fmt(r['task_ms_min'], 0)} | "
            f"{fmt(r['task_ms_min'] - bare['task_ms_min'], 0)} | {fmt(r['cpu_main_min'], 0)} | "
            f"{fmt(r['cpu_main_min'] - bare['cpu_main_min'], 0)} | "
            f"{fmt(r['cpu_worker_min'], 0) if r['cpu_worker_min'] else DASH} | "
            f"{r['long_load'][0]}, {fmt(r['long_load'][1], 0)} | {r['long_session'][0]}, "
            f"{fmt(r['long_session'][1], 0)} | {fmt(r['load_script_ms'], 0)} |"
        )
    rows += [
        "",
        "| | clicks: Event Timing p75 ms (≥ 16 ms / all) | keys: Event Timing p75 ms | input delay "
        "p75 / p99 ms | JS heap after GC, MB | Δ heap vs bare, MB | fires |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for variant in SESSION_VARIANTS:
        r = results[variant]
        c = r["counts"]
        fires = ", ".join(f"{k} {v}" for k, v in sorted(r["fires"].items())) or DASH
        rows.append(
            f"| {LABEL[variant]} | {p75_cell(r['click_p75'], r['click_slow'], c.clicks)} | "
            f"{p75_cell(r['key_p75'], r['key_slow'], c.keys)} | {fmt(r['delay_p75'], 1)} / "
            f"{fmt(r['delay_p99'], 1)} | {fmt(r['heap_used'] / 1e6, 2)} | "
            f"{fmt((r['heap_used'] - bare['heap_used']) / 1e6, 3)} | {fires} |"
        )
    c = bare["counts"]
    peer = results["posthog"]["peer"] or {}
    events = ", ".join(f"{k} {v}" for k, v in sorted(peer.get("events", {}).items())) or "none"
    worker = results["worker"]
    quiet = results["worker-quiet"]
    added = worker["script_ms_min"] - bare["script_ms_min"]
    quiet_added = quiet["script_ms_min"] - bare["script_ms_min"]
    cpu_added = worker["cpu_main_min"] - bare["cpu_main_min"]
    heap_added = (worker["heap_used"] - bare["heap_used"]) / 1e6
    rows += [
        "",
        f"Each variant: a fresh context, the page loaded and settled (ready + 1.5 s); all "
        f"stay open and take turns, {SLICE_S:.0f} s of input each (the order rotating), until "
        f"each had {plan.session_s:.0f} s of scripted input: {c.moves:,} pointer moves "
        f"({c.moves / c.seconds:.0f}/s achieved, target 125/s; {c.late_ticks:,} ticks late), "
        f"{c.clicks} clicks, {c.keys} key presses, {c.wheels} wheel steps (the same seeded "
        "script for every variant). Script/task ms are the CDP `Performance.getMetrics` deltas "
        "over the slices (each with 1 s after its input, for deferred work), scaled to a "
        "minute of input (wall time: they grow when the busy machine "
        "preempts the thread); main-thread and worker CPU are the CPU time of the page's "
        "renderer threads from /proc (`schedstat`), which does not; long tasks from "
        "PerformanceObserver "
        "(`longtask`, buffered, so from load on); Event Timing p75 over all interactions, "
        "those under the API's 16 ms floor counted as fast; input delay is "
        "`performance.now() - event.timeStamp` in a first window capture listener; heap "
        "after a forced GC (`Runtime.getHeapUsage`).",
        "",
        f"posthog-js {posthog_version()} (dist/array.js, what its snippet loads) sent "
        f"{peer.get('posts', 0)} requests, {peer.get('sent_bytes', 0):,} bytes: {events}.",
        "",
        f"Targets for pytrigger (worker): ≤ 35 ms/min of main-thread script over the bare page "
        f"— {fmt(added)} ms/min of script (CDP), {fmt(cpu_added, 0)} ms/min of main-thread CPU "
        f"(everything the page's thread did more, layout included), {yes(added <= 35)}; "
        "no long task at load or in the session — "
        f"{worker['long_load'][0] + worker['long_session'][0]}, "
        f"{yes(worker['long_load'][0] + worker['long_session'][0] == 0)}; ≤ 0.1 MB of JS heap "
        f"over the bare page — {fmt(heap_added, 3)} MB, {yes(heap_added <= 0.1)}. Without "
        f"actions (the same triggers deciding, no toast drawn): {fmt(quiet_added)} ms/min, "
        f"{yes(quiet_added <= 35)}.",
        "",
        before_after(results),
        "",
        "Pointer moves: the visitor steps the pointer every 8 ms, but Playwright's "
        "`mouse.move` waits for Chromium's input acknowledgement, which comes once a frame, "
        "so about 60 moves a second reach the page: what a 120 Hz mouse delivers on a 60 Hz "
        "display, where Chromium aligns moves to frames and coalesces the rest.",
    ]
    for variant, r in results.items():
        if r["errors"]:
            rows.append(f"\nPage errors ({LABEL[variant]}): {r['errors'][:3]}")
    title = f"Browser: main-thread cost of a {plan.session_s:.0f} s scripted session"
    return section(title, rows), results


# --------------------------------------------------------------------------- 2. per event

DISPATCH = """
({kind, n, selector}) => {
  const el = document.querySelector(selector);
  const t0 = performance.now();
  if (kind === 'pointermove') {
    for (let i = 0; i < n; i++) {
      el.dispatchEvent(new PointerEvent('pointermove', {bubbles: true, composed: true,
        clientX: 100 + (i % 200), clientY: 300, pointerType: 'mouse', isPrimary: true}));
    }
  } else {
    for (let i = 0; i < n; i++) {
      el.dispatchEvent(new KeyboardEvent('keydown', {bubbles: true, composed: true, key: 'a'}));
    }
  }
  return performance.now() - t0;
}
"""
TARGETS = {"pointermove": ".product-card h3", "keydown": "#search"}


DRAIN = """async () => {
  if (window.pytrigger && window.pytrigger.stats) await window.pytrigger.stats();  // FIFO
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
}"""


def figure_per_event(browser: Browser, servers: Servers, plan: Plan) -> str:
    """All four pages stay open; each round runs every variant once, in turn, so the
    variants share the machine's state round by round, and the added cost is the median of
    the per-round differences with the bare page. After a variant's loop its engine is
    drained (``pytrigger.stats()`` answers after every message before it), so a worker
    still busy with 10,000 events never slows the next variant's loop."""
    per_event: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    visits: dict[str, Visit] = {}
    try:
        for variant in VARIANTS:
            log(f"per-event: opening {variant}")
            visits[variant] = Visit(browser, inputs=False, timing=False)
            visits[variant].open(servers, page_for(variant), variant)
        for i in range(plan.per_event_rounds):
            log(f"per-event: round {i + 1}/{plan.per_event_rounds}")
            for kind, selector in TARGETS.items():
                for variant in VARIANTS:
                    page = visits[variant].page
                    ms = page.evaluate(
                        DISPATCH, {"kind": kind, "n": plan.per_event_n, "selector": selector}
                    )
                    per_event[variant][kind].append(ms * 1000 / plan.per_event_n)
                    page.evaluate(DRAIN)
    finally:
        for visit in visits.values():
            visit.close()
    rows = [
        "| | pointermove µs/event (median) | Δ vs bare (median of rounds) | keydown µs/event "
        "(median) | Δ vs bare |",
        "|---|---:|---:|---:|---:|",
    ]
    deltas = {}
    for variant in VARIANTS:
        cells = []
        for kind in TARGETS:
            value = median(per_event[variant][kind])
            paired = [
                v - b
                for v, b in zip(per_event[variant][kind], per_event["bare"][kind], strict=True)
            ]
            deltas[(variant, kind)] = median(paired)
            cells += [fmt(value, 2), DASH if variant == "bare" else fmt(median(paired), 2)]
        rows.append(f"| {LABEL[variant]} | " + " | ".join(cells) + " |")
    move, key = deltas[("worker", "pointermove")], deltas[("worker", "keydown")]
    rows += [
        "",
        f"{plan.per_event_n:,} synthetic events per loop (`el.dispatchEvent(new PointerEvent(...))`"
        f" on a product card's heading, `new KeyboardEvent('keydown')` on the search box), timed "
        f"with `performance.now()`; the four pages open side by side (each its own context), "
        f"{plan.per_event_rounds} rounds, each running every variant in turn (then draining "
        "its engine: `pytrigger.stats()`); the figure is the median per event, the difference "
        "the median of the per-round differences with the bare page: the added cost of the "
        "variant's listeners (event construction and dispatch are in every column). The "
        "session's config can use no pointer move outside an open gate, a held button or a "
        "leave, so pytrigger does not even listen to these moves; a keydown is classified, "
        "resolved to its targets and queued, and the queue is posted at the end of the task "
        "(`postMessage` to the worker, or one call into Python in main mode). Here the loop "
        "is one task, so its 10,000 keydowns cross in one message; with real input each key "
        "is its own task and message, and the session figure above counts that cost.",
        "",
        f"Target for pytrigger (worker): ≤ 2 µs per event over the bare page — pointermove "
        f"{fmt(move, 2)} µs, {yes(move <= 2)}; keydown {fmt(key, 2)} µs, {yes(key <= 2)}.",
    ]
    return section("Browser: added main-thread cost per input event", rows)
