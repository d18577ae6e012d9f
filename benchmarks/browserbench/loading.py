"""Figures 4 and 5: time from the script tag to `pytrigger:ready`, and bytes on the wire."""

from __future__ import annotations

import gzip
from collections import defaultdict
from typing import Any

from playwright.sync_api import Browser, Page

from .common import (
    DASH,
    LABEL,
    Plan,
    Visit,
    fmt,
    page_for,
    section,
    yes,
)
from .kit import (
    STATIC,
    Servers,
    log,
    median,
)
from .peer import POSTHOG_DIST

# --------------------------------------------------------------------------- 4 & 5. boot, bytes

RESOURCES = """() => [
  ...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')
].map((e) => ({name: e.name, type: e.initiatorType, transfer: e.transferSize,
               body: e.encodedBodySize, decoded: e.decodedBodySize}))"""


def resources(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(RESOURCES)
    for worker in page.workers:
        try:
            found += worker.evaluate(RESOURCES)
        except Exception as error:  # a worker that went away
            log(f"resources: worker {worker.url}: {error}")
    return found


#: a network on which the snapshot (4.8 MB) takes longer than worker.js's budget (1.5 s)
SLOW_MBIT = 20
#: the boot figure's rows: (page variant, label); worker.js's snapshot policies
BOOT_MODES = (
    ("worker", "worker (snapshot: auto, the default)"),
    ("worker-snapshot-always", "worker (snapshot: always)"),
    ("worker-snapshot-off", "worker (snapshot: off)"),
    ("main", "main (snapshot: auto)"),
    ("worker-idle", 'worker, `data-start="idle"`'),
    ("main-idle", 'main, `data-start="idle"`'),
    ("worker-slow", f"worker (snapshot: auto), {SLOW_MBIT} Mbit/s"),
    ("worker-off-slow", f"worker (snapshot: off), {SLOW_MBIT} Mbit/s"),
)
#: the rows on a throttled network (CDP network emulation, the worker's requests included):
#: row → the page variant it loads
THROTTLED = {"worker-slow": "worker", "worker-off-slow": "worker-snapshot-off"}
#: the modes whose snapshot policy is auto (the cold visit waits for the prefetch)
AUTO_MODES = ("worker", "main", "worker-idle", "main-idle", "worker-slow")
LOAD_EVENT = "performance.getEntriesByType('navigation')[0].loadEventEnd"

#: auto fetches the snapshot 2 s after the boot, for the next page: the cold visit waits
#: for it before the warm one (a visitor's next page view is seconds away, at least)
PREFETCH_SETTLE_MS = 4000


def figure_boot(
    browser: Browser, servers: Servers, plan: Plan
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    boots: dict[str, dict[str, list[Any]]] = {m: defaultdict(list) for m, _ in BOOT_MODES}
    visits: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for run in range(plan.boot_runs):
        for mode, _ in BOOT_MODES:  # the policies take turns: they share the machine's state
            log(f"boot: {mode} #{run + 1}")
            kind = "main" if mode.startswith("main") else "worker"
            settle = PREFETCH_SETTLE_MS if mode in AUTO_MODES else 300
            with Visit(browser, inputs=False, timing=False) as visit:
                if mode in THROTTLED:
                    visit.throttle(SLOW_MBIT)
                page = page_for(THROTTLED.get(mode, mode))
                cold = visit.open(servers, page, kind, settle_ms=settle)
                boots[mode]["cold"].append(cold["bootMs"])
                boots[mode]["cold_nav"].append(cold["at"])
                boots[mode]["cold_snapshot"].append(cold.get("snapshot"))
                boots[mode]["cold_load"].append(visit.page.evaluate(LOAD_EVENT))
                first = resources(visit.page) if run == 0 else None
                warm = visit.open(servers, page, kind, settle_ms=300)
                boots[mode]["warm"].append(warm["bootMs"])
                boots[mode]["warm_nav"].append(warm["at"])
                boots[mode]["warm_snapshot"].append(warm.get("snapshot"))
                boots[mode]["warm_load"].append(visit.page.evaluate(LOAD_EVENT))
                if run == 0 and mode == "worker":
                    visits["worker"] = {"first": first or [], "repeat": resources(visit.page)}
    for variant in ("bare", "posthog"):
        with Visit(browser, inputs=False, timing=False) as visit:
            visit.open(servers, page_for(variant), variant, settle_ms=2000)
            first = resources(visit.page)
            visit.open(servers, page_for(variant), variant, settle_ms=2000)
            visits[variant] = {"first": first, "repeat": resources(visit.page)}
    rows = [
        "| mode | cold: bootMs median | (runs) | snapshot | warm: bootMs median | (runs) | "
        "snapshot | cold: navigation → ready | warm: navigation → ready | "
        "cold: navigation → load event | warm: navigation → load event |",
        "|---|---:|---|---|---:|---|---|---:|---:|---:|---:|",
    ]

    def outcome(values: list[Any]) -> str:
        counts: dict[str, int] = defaultdict(int)
        for v in values:
            counts[str(v)] += 1
        return ", ".join(f"{k} \u00d7{n}" if n > 1 else k for k, n in counts.items())

    for mode, label in BOOT_MODES:
        b = boots[mode]
        rows.append(
            f"| {label} | {fmt(median(b['cold']), 0)} ms | "
            f"{', '.join(fmt(x, 0) for x in b['cold'])} | {outcome(b['cold_snapshot'])} | "
            f"{fmt(median(b['warm']), 0)} ms | {', '.join(fmt(x, 0) for x in b['warm'])} | "
            f"{outcome(b['warm_snapshot'])} | "
            f"{fmt(median(b['cold_nav']), 0)} ms | {fmt(median(b['warm_nav']), 0)} ms | "
            f"{fmt(median(b['cold_load']), 0)} ms | {fmt(median(b['warm_load']), 0)} ms |"
        )
    cold, warm = median(boots["worker"]["cold"]), median(boots["worker"]["warm"])
    off_warm = median(boots["worker-snapshot-off"]["warm"])
    always_cold = median(boots["worker-snapshot-always"]["cold"])
    off_cold = median(boots["worker-snapshot-off"]["cold"])
    slow_auto = median(boots["worker-slow"]["cold"])
    slow_off = median(boots["worker-off-slow"]["cold"])
    slow_warm = median(boots["worker-slow"]["warm"])
    slow_off_warm = median(boots["worker-off-slow"]["warm"])
    idle: dict[str, dict[str, float]] = {
        m: {k: median(boots[m][k]) for k in ("cold", "warm", "cold_load", "cold_nav")}
        for m in ("worker", "worker-idle", "main", "main-idle")
    }
    rows += [
        "",
        f"`bootMs` is `pytrigger:ready`'s detail (from the shim's first line to ready); "
        f"navigation → ready is the event's `performance.now()`; snapshot is how the runtime "
        f"started (`pytrigger:ready`'s `snapshot`: `restored`, `too slow`, `off`, …). Cold: a "
        f"fresh context (empty HTTP and code caches), {plan.boot_runs} runs per row, the rows "
        "taking turns; warm: the same context navigating to the page again (`pytrigger "
        "serve`'s headers: the runtime, wheel and snapshot `immutable`, the shim, worker and "
        "lock `no-cache`, revalidated). The cold visit of an `auto` row waits "
        f"{PREFETCH_SETTLE_MS / 1000:.0f} s before the warm one, for the snapshot fetched 2 s "
        f"after the boot when the first visit did not download it. The {SLOW_MBIT} Mbit/s rows "
        "run on CDP's network emulation (20 ms latency), which throttles the worker's "
        "requests too.",
        "",
        f"What the snapshot buys: warm {fmt(off_warm, 0)} ms without it → {fmt(warm, 0)} ms "
        f"restored (auto). On a first visit `auto` downloads it before starting when the "
        f"rate of its bytes, over 250 ms from the first, says it will be in within 1.5 s: "
        f"cold {fmt(off_cold, 0)} ms without it → "
        f"{fmt(cold, 0)} ms here on loopback (`always`: {fmt(always_cold, 0)} ms); at "
        f"{SLOW_MBIT} Mbit/s it gives up and starts normally: cold {fmt(slow_off, 0)} ms "
        f"(`off`) → {fmt(slow_auto, 0)} ms (`auto`: the cost of the 250 ms it listened), "
        f"warm {fmt(slow_off_warm, 0)} → {fmt(slow_warm, 0)} ms.",
        "",
        'What the lazy start buys (`data-start="idle"`: the runtime waits for the load event '
        "and an idle moment): the page's load event, cold, "
        f"{fmt(idle['worker']['cold_load'], 0)} → {fmt(idle['worker-idle']['cold_load'], 0)} ms "
        f"in worker mode and {fmt(idle['main']['cold_load'], 0)} → "
        f"{fmt(idle['main-idle']['cold_load'], 0)} ms in main mode; what it costs: ready, cold, "
        f"{fmt(idle['worker']['cold_nav'], 0)} → {fmt(idle['worker-idle']['cold_nav'], 0)} ms "
        f"(worker) and {fmt(idle['main']['cold_nav'], 0)} → "
        f"{fmt(idle['main-idle']['cold_nav'], 0)} ms (main) after navigation. Input is "
        "buffered meanwhile, so no decision is lost, only later.",
        "",
        f"Targets (worker, default policy): cold ≤ 3 s — {fmt(cold, 0)} ms, {yes(cold <= 3000)}; "
        f"warm ≤ 1 s — {fmt(warm, 0)} ms, {yes(warm <= 1000)}.",
    ]
    return section("Browser: time from the script tag to pytrigger:ready", rows), boots, visits


def _short(url: str, servers: Servers) -> str:
    name = url.replace(servers.base, "").replace(servers.peer.origin, "[posthog]")
    return name.split("?")[0]


def _upload(url: str, servers: Servers) -> bool:
    """posthog-js's event posts (to the peer, outside its /static/ and /array/ files)."""
    if not url.startswith(servers.peer.origin):
        return False
    path = url[len(servers.peer.origin) :]
    return not path.startswith(("/static/", "/array/"))


def figure_bytes(servers: Servers, visits: dict[str, Any]) -> str:
    rows = [
        "| file | first visit, bytes | repeat visit, bytes | (decoded size) |",
        "|---|---:|---:|---:|",
    ]
    worker = visits["worker"]
    repeat = {e["name"]: e for e in worker["repeat"]}
    for e in worker["first"]:
        again = repeat.get(e["name"])
        rows.append(
            f"| {_short(e['name'], servers)} | {e['transfer']:,} | "
            f"{again['transfer'] if again else 0:,} | {e['decoded']:,} |"
        )
    totals = {}
    for variant in ("bare", "posthog", "worker"):
        v = visits[variant]
        first = sum(e["transfer"] for e in v["first"] if not _upload(e["name"], servers))
        again = sum(e["transfer"] for e in v["repeat"] if not _upload(e["name"], servers))
        totals[variant] = (first, again)
    # worker.js: a dedicated worker's own script shows up in no Resource Timing buffer
    names = {_short(e["name"], servers) for e in worker["first"]}
    missing = "/pytrigger/worker.js" not in names
    shim = (STATIC / "pytrigger" / "pytrigger.js").read_bytes()
    shim_gz = len(gzip.compress(shim, 9, mtime=0))
    shim_br = (STATIC / "pytrigger" / "pytrigger.js.br").stat().st_size
    worker_js = (STATIC / "pytrigger" / "worker.js").read_bytes()
    array = (POSTHOG_DIST / "array.js").read_bytes()
    rows += [
        "",
        "| page | first visit, bytes | repeat visit, bytes | added over the bare page, "
        "first / repeat |",
        "|---|---:|---:|---:|",
    ]
    for variant in ("bare", "posthog", "worker"):
        first, again = totals[variant]
        rows.append(
            f"| {LABEL[variant]} | {first:,} | {again:,} | "
            f"{first - totals['bare'][0]:,} / {again - totals['bare'][1]:,} |"
        )
    rows += [
        "",
        "| script | raw bytes | gzip -9 | brotli (as served) |",
        "|---|---:|---:|---:|",
        f"| pytrigger.js (the shim) | {len(shim):,} | {shim_gz:,} ({shim_gz / 1024:.2f} KiB) | "
        f"{shim_br:,} |",
        f"| worker.js | {len(worker_js):,} | {len(gzip.compress(worker_js, 9, mtime=0)):,} | "
        f"{DASH} |",
        f"| posthog-js dist/array.js | {len(array):,} | {len(gzip.compress(array, 9, mtime=0)):,} "
        f"| {DASH} |",
        "",
        "Bytes are Resource Timing `transferSize` (body as transferred plus headers; 0 from the "
        "HTTP cache, the headers alone for a 304), from the page and from its worker, with "
        "`Accept-Encoding: br` (Chromium's default), after `pytrigger:ready`; the repeat "
        "visit is the same context navigating again. Uploads (posthog-js's event posts) are "
        "left out here: see the session figure."
        + (
            " worker.js's own fetch appears in no Resource Timing buffer (Chromium fetches a "
            "dedicated worker's script in the browser process), so it is not in the totals: add "
            f"its .br, {(STATIC / 'pytrigger' / 'worker.js.br').stat().st_size:,} bytes plus "
            "headers."
            if missing
            else ""
        ),
        "",
        f"Target: the shim ≤ 8 KiB gzipped — {shim_gz / 1024:.2f} KiB, {yes(shim_gz <= 8192)}.",
    ]
    return section("Browser: bytes on the wire", rows)
