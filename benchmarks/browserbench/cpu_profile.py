"""Figure 8: where the time goes -- CPU profiles of the page (the session and the synthetic
loops) and of the worker (CPU per message, cProfile of its Python).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser

from .common import (
    TIMES,
    Plan,
    Visit,
    page_for,
    section,
)
from .engine import find_pyodide
from .kit import (
    PageCPU,
    Servers,
)
from .session import DISPATCH, DRAIN, TARGETS
from .visitor import Layout, drive_session

# --------------------------------------------------------------------------- 8. profile


def self_times(profile: dict[str, Any]) -> Counter[tuple[str, str, int]]:
    """Self time (µs) by (function, script, line) of a CDP Profiler profile."""
    nodes = {n["id"]: n["callFrame"] for n in profile["nodes"]}
    found: Counter[tuple[str, str, int]] = Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        frame = nodes[sample]
        found[(frame["functionName"] or "(anonymous)", frame["url"], frame["lineNumber"] + 1)] += (
            delta
        )
    return found


SHIM_URLS = ("/pytrigger/pytrigger.js", "/pytrigger/pytrigger.src.js")


def _kind(name: str, url: str) -> str:
    if url.endswith(SHIM_URLS):
        return "pytrigger.js"
    if name in ("(idle)", "(program)", "(garbage collector)", "(root)"):
        return name
    if url == "":
        return f"native / built-in: {name}"
    return "other script (the benchmark's recorder, the page)"


def profiled(
    visit: Visit, interval_us: int, run: Callable[[], Any]
) -> Counter[tuple[str, str, int]]:
    visit.cdp.send("Profiler.enable")
    visit.cdp.send("Profiler.setSamplingInterval", {"interval": interval_us})
    visit.cdp.send("Profiler.start")
    try:
        run()
    finally:
        profile = visit.cdp.send("Profiler.stop")["profile"]
        visit.cdp.send("Profiler.disable")
    return self_times(profile)


#: profile visit only: counts the shim's messages to and from its worker (a wrapper
#: around the page's Worker; the session figure's pages run without it)
COUNT_MESSAGES = """(() => {
  const Native = window.Worker;
  const n = window.__benchMessages = {out: 0, outChars: 0, in: 0, inChars: 0};
  window.Worker = function (...args) {
    const worker = new Native(...args);
    const post = worker.postMessage.bind(worker);
    worker.postMessage = (m) => { n.out++; n.outChars += (m && m.length) || 0; post(m); };
    worker.addEventListener('message',
      (e) => { n.in++; n.inChars += (e.data && e.data.length) || 0; });
    return worker;
  };
})();"""

PY_PROFILE_START = "import cProfile\n__bench_prof = cProfile.Profile()\n__bench_prof.enable()"
PY_PROFILE_STOP = """
__bench_prof.disable()
import json, pstats
__rows = []
for (_file, _line, _name), (_cc, _nc, _tt, _ct, _by) in pstats.Stats(__bench_prof).stats.items():
    _where = "" if _file == "~" else _file.rsplit("/", 1)[-1] + ":" + str(_line)
    __rows.append((_tt, _ct, _nc, _where, _name))
__rows.sort(reverse=True)
json.dumps({"total": sum(r[0] for r in __rows), "top": __rows[:14]})
"""


def figure_profile(browser: Browser, servers: Servers, plan: Plan) -> str:
    loops: dict[str, Counter[tuple[str, str, int]]] = {}
    loop_rounds = 3
    with Visit(browser, inputs=False, timing=False, worker_cdp=True) as visit:
        visit.context.add_init_script(COUNT_MESSAGES)
        # the readable source of the same shim (static/ serves it minified): names, not
        # terser's one-letter ones, in the profile
        visit.open(servers, page_for("worker-src"), "worker")
        layout = Layout.read(visit.page)
        # first the worker (before the synthetic loops below flood it with 30,000 messages):
        # CPU per message with nothing attached to it, then where its Python spends the time
        # (cProfile in the worker); then the page's profiles
        cpu = PageCPU(visit.page)
        visit.page.wait_for_timeout(300)
        clean = cpu.read(), visit.page.evaluate("({...window.__benchMessages})")
        clean_counts = drive_session(visit.page, plan.profile_s / 2, seed=9, layout=layout)
        visit.page.evaluate(DRAIN)
        clean_end = cpu.read(), visit.page.evaluate("({...window.__benchMessages})")
        worker = visit.worker
        assert worker is not None
        find_pyodide(visit, worker, trace_proxies=False)
        before, sent = cpu.read(), visit.page.evaluate("({...window.__benchMessages})")
        worker.evaluate(f"globalThis.__benchPyodide.runPython({json.dumps(PY_PROFILE_START)})")
        py_counts = drive_session(visit.page, plan.profile_s / 2, seed=8, layout=layout)
        visit.page.evaluate(DRAIN)
        python = json.loads(
            worker.evaluate(f"globalThis.__benchPyodide.runPython({json.dumps(PY_PROFILE_STOP)})")
        )
        visit.page.evaluate(DRAIN)
        worker_ms = cpu.read()["worker"] - before["worker"]
        after = visit.page.evaluate("({...window.__benchMessages})")
        box: dict[str, Any] = {}

        def session() -> None:
            box["counts"] = drive_session(visit.page, plan.profile_s, seed=7, layout=layout)

        times = profiled(visit, 200, session)
        counts = box["counts"]
        for kind, selector in TARGETS.items():

            def loop(kind: str = kind, selector: str = selector) -> None:
                for _ in range(loop_rounds):
                    visit.page.evaluate(
                        DISPATCH, {"kind": kind, "n": plan.per_event_n, "selector": selector}
                    )

            loops[kind] = profiled(visit, 50, loop)
            visit.page.evaluate(DRAIN)
    messages = {k: after[k] - sent[k] for k in after}
    clean_messages = clean_end[1]["out"] - clean[1]["out"]
    clean_worker_ms = clean_end[0]["worker"] - clean[0]["worker"]
    clean_main_ms = clean_end[0]["main"] - clean[0]["main"]
    by_function: Counter[tuple[str, int]] = Counter()
    by_kind: Counter[str] = Counter()
    for (name, url, line), us in times.items():
        kind = _kind(name, url)
        by_kind[kind] += us
        if kind == "pytrigger.js":
            by_function[(name, line)] += us
    minutes = counts.seconds / 60
    shim_total = by_kind["pytrigger.js"] or 1
    rows = [
        "| pytrigger.js function (line) | self ms/min | share of the shim |",
        "|---|---:|---:|",
    ]
    for (name, line), us in by_function.most_common(12):
        rows.append(f"| `{name}` ({line}) | {us / 1000 / minutes:.2f} | {us / shim_total:.0%} |")
    rows += ["", "| where the page's main thread was | ms/min |", "|---|---:|"]
    for kind, us in [(k, v) for k, v in by_kind.most_common() if k != "(idle)"][:10]:
        rows.append(f"| {kind} | {us / 1000 / minutes:.1f} |")
    rows += [
        "",
        "CDP `Profiler` (200 µs sampling) on the page in worker mode during "
        f"{counts.seconds:.0f} s "
        f"of the scripted session ({counts.moves:,} moves, {counts.clicks} clicks, {counts.keys} "
        "keys); self time by function, scaled to a minute. The profiler's own overhead inflates "
        "every figure a little; compare them with one another, not with the session figure. "
        "Native work called from the shim (`getBoundingClientRect` with the layout it forces, "
        "`postMessage`, `closest`, ...) is in the second table, not the first.",
        "",
        "| synthetic loop: frame | pointermove: µs/event | keydown: µs/event |",
        "|---|---:|---:|",
    ]
    events = loop_rounds * plan.per_event_n
    per_frame: dict[str, dict[str, float]] = defaultdict(dict)
    for kind, found in loops.items():
        for (name, url, _line), us in found.items():
            if name == "(idle)":
                continue
            if url.endswith(SHIM_URLS):
                label = f"pytrigger.js `{name}`"
            elif url == "" and name == "(anonymous)":
                label = "the benchmark's loop itself"
            elif url == "":
                label = name if name.startswith("(") else f"native `{name}`"
            else:
                label = "other script"
            per_frame[label][kind] = per_frame[label].get(kind, 0.0) + us / events
    ranked = sorted(per_frame.items(), key=lambda item: -sum(item[1].values()))
    for label, cost in ranked[:16]:
        rows.append(
            f"| {label} | {cost.get('pointermove', 0.0):.2f} | {cost.get('keydown', 0.0):.2f} |"
        )
    rows += [
        "",
        f"The same page, then {loop_rounds} {TIMES} {plan.per_event_n:,} synthetic events of "
        "each kind "
        "(the per-event figure's loop) under the profiler at 50 µs: self time per event by frame. "
        "`PointerEvent`/`KeyboardEvent` construction and `dispatchEvent` are the loop's own and "
        "are in the bare page too.",
        "",
        "| the worker's Python: function (where) | self ms | incl. ms | calls |",
        "|---|---:|---:|---:|",
    ]
    for tottime, cumtime, calls, where, name in python["top"]:
        label = f"`{name}`" + (f" ({where})" if where else "")
        rows.append(f"| {label} | {tottime * 1000:.1f} | {cumtime * 1000:.1f} | {calls:,} |")
    per_message = worker_ms / messages["out"] if messages["out"] else math.nan
    clean_per_message = clean_worker_ms / clean_messages if clean_messages else math.nan
    rows += [
        "",
        f"The worker, untouched: {clean_counts.seconds:.0f} s of the session (on the same page, "
        "before the page profiles above) sent "
        f"{clean_messages:,} messages to the worker "
        f"({clean_messages / clean_counts.seconds:.0f}/s; "
        "counted by a wrapper around the page's `Worker`, this visit only); the worker thread "
        f"used {clean_worker_ms:,.0f} ms of CPU (/proc), **{clean_per_message * 1000:,.0f} µs per "
        f"message**, {clean_worker_ms / clean_counts.seconds * 60:,.0f} ms per minute (the page's "
        f"main thread: {clean_main_ms / clean_counts.seconds * 60:,.0f} ms per minute).",
        "",
        f"Then {py_counts.seconds:.0f} s more with `cProfile` on in the worker's "
        "Python (reached as in the memory figure; its overhead inflates these figures, so read "
        f"them as shares): {messages['out']:,} messages from the shim to the worker "
        f"({messages['out'] / py_counts.seconds:.0f}/s, "
        f"{messages['outChars'] / max(1, messages['out']):.0f} "
        f"characters each on average), {messages['in']:,} back; the worker thread's CPU time "
        f"(/proc) was {worker_ms:,.0f} ms, {per_message * 1000:,.0f} µs per message (with the "
        f"profiler on); Python's own total under cProfile {python['total'] * 1000:,.0f} ms.",
    ]
    return section("Browser: where the time goes (worker mode, CPU profiles)", rows)
