"""Figures 6 and 7: engine throughput in Pyodide next to CPython, and memory over a long
worker-mode session (the worker's Pyodide reached through CDP).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser

from .common import (
    Plan,
    Visit,
    page_for,
    section,
    yes,
)
from .kit import (
    ROOT,
    Servers,
    WorkerCDP,
    log,
)
from .visitor import Layout, drive_session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench_engine

# --------------------------------------------------------------------------- 6. throughput


def engine_files() -> dict[str, str]:
    files = {
        "/bench/benchmarks/bench_engine.py": (ROOT / "benchmarks" / "bench_engine.py").read_text()
    }
    for config in sorted((ROOT / "examples").glob("*/config.json")):
        files[f"/bench/examples/{config.parent.name}/config.json"] = config.read_text()
    return files


def figure_throughput(browser: Browser, servers: Servers, plan: Plan) -> str:
    results: dict[int, dict[str, Any]] = {}
    with Visit(browser, inputs=False, timing=False) as visit:
        visit.page.goto(servers.url("/bench/throughput/"))
        log("throughput: booting Pyodide in the benchmark worker")
        booted = visit.page.evaluate("(files) => window.benchBoot(files)", engine_files())
        log("throughput: warm-up (one discarded measure(10) on each side)")
        visit.page.evaluate("window.benchEngine(10)")
        bench_engine.measure(10)
        for n in (1, 10, 100):  # the two sides take turns, so they share the machine's state
            log(f"throughput: {n} trigger(s), Pyodide then CPython")
            feed, feed_json, decisions = visit.page.evaluate(f"window.benchEngine({n})")
            results[n] = {"pyodide": (feed, feed_json, decisions)}
            results[n]["cpython"] = bench_engine.measure(n)
    rows = [
        "| triggers | Pyodide feed_json: events/s | µs/event | CPython feed_json: events/s | "
        "µs/event | Pyodide / CPython | Pyodide feed: events/s | CPython feed: events/s | "
        "decisions (Pyodide = CPython) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for n, r in results.items():
        pf, pj, pd = r["pyodide"]
        cf, cj, cd = r["cpython"]
        rows.append(
            f"| {n} | {pj:,.0f} | {1e6 / pj:.2f} | {cj:,.0f} | {1e6 / cj:.2f} | {pj / cj:.2f} | "
            f"{pf:,.0f} | {cf:,.0f} | {pd} {'=' if pd == cd else '≠'} {cd} |"
        )
    rows += [
        "",
        f"benchmarks/bench_engine.py's `measure(n)` — {bench_engine.EVENTS:,} events "
        "(60 % pointermove, 20 % scroll, 15 % keys, 5 % other), best of "
        f"{bench_engine.ROUNDS} rounds — run unchanged in Pyodide ({booted['python'].split()[0]}) "
        "in a module worker that boots the bundle with worker.js's `boot()` (the benchmark page "
        "/bench/throughput/), and on CPython "
        f"({sys.version.split()[0]}) in this process, taking turns in the same run, after one "
        "discarded warm-up call on each side. `feed_json` parses trace "
        "objects as the worker does; the worker's JSON string → `json.loads` step of each "
        "message is not in it.",
    ]
    return section("Browser: engine throughput in Pyodide (worker)", rows)


# --------------------------------------------------------------------------- 7. memory

#: evaluated in a paused frame of Pyodide's own code, where its `API` object is in scope
GRAB_PYODIDE = (
    "(globalThis.__benchPyodide = (typeof API !== 'undefined' && API.public_api) || null,"
    " !!globalThis.__benchPyodide)"
)

#: one memory sample inside the worker: dlmalloc's mallinfo (arena, in use), the wasm
#: memory, Python's gc-tracked objects, and the live PyProxies made since tracing began,
#: less those this sampler's own runPython made
WORKER_STATS = """(() => {
  const py = globalThis.__benchPyodide, m = py._module;
  const objects = Number(py.runPython("import gc\\ngc.collect()\\nlen(gc.get_objects())"));
  const ptr = m._malloc(64);
  m._mallinfo(ptr);
  const info = m.HEAP32.subarray(ptr >> 2, (ptr >> 2) + 10);
  const arena = info[0] >>> 0, inUse = info[7] >>> 0;
  m._free(ptr);
  const live = [...m.pyproxy_alloc_map.values()].filter((s) => !s.includes('runPython'));
  return {objects, arena, inUse, wasm: m.HEAP8.length, proxies: live.length,
          proxyStacks: live.slice(0, 3).map((s) => s.split('\\n').slice(3, 9).join(' < '))};
})()"""


def find_pyodide(
    visit: Visit, worker: WorkerCDP, trace_proxies: bool = True, attempts: int = 3
) -> None:
    """Reach the worker's Pyodide without changing the product: pause the worker's
    debugger, make the page post it a message (a synthetic keydown), and in the first
    paused frame of Pyodide's code keep its `API.public_api`; then resume. With
    `trace_proxies`, turns on Pyodide's PyProxy allocation tracing (so only proxies made from
    here on are counted; it captures a stack per proxy made, which costs time)."""
    worker.keep_events = True
    worker.send("Debugger.enable")
    try:
        for _ in range(attempts):
            worker.send("Debugger.pause")
            visit.page.evaluate(
                "document.body.dispatchEvent("
                "new KeyboardEvent('keydown', {bubbles: true, key: 'x'}))"
            )
            paused = worker.wait_event("Debugger.paused", timeout=20)
            found = False
            for frame in paused["params"]["callFrames"]:
                answer = worker.send(
                    "Debugger.evaluateOnCallFrame",
                    {
                        "callFrameId": frame["callFrameId"],
                        "expression": GRAB_PYODIDE,
                        "returnByValue": True,
                    },
                )
                if answer["result"].get("value") is True:
                    found = True
                    break
            worker.send("Debugger.resume")
            if found:
                worker.evaluate(WORKER_STATS)  # warm the sampler's own paths first
                worker.evaluate(
                    "globalThis.__benchPyodide._module.enable_pyproxy_allocation_tracing()"
                )
                return
        raise RuntimeError("the worker's Pyodide was not found in a paused frame")
    finally:
        worker.send("Debugger.disable")
        worker.keep_events = False
        worker.events.clear()


def figure_memory(browser: Browser, servers: Servers, plan: Plan) -> str:
    samples: list[dict[str, Any]] = []
    with Visit(browser, inputs=False, worker_cdp=True, timing=False) as visit:
        visit.open(servers, page_for("worker"), "worker")
        worker = visit.worker
        assert worker is not None
        find_pyodide(visit, worker)
        layout = Layout.read(visit.page)
        elapsed = 0.0
        chunks = max(1, round(plan.memory_s / plan.memory_every_s))
        for i in range(chunks + 1):
            if i:
                log(f"memory: {elapsed:.0f} / {plan.memory_s:.0f} s")
                elapsed += drive_session(
                    visit.page, plan.memory_every_s, seed=i, layout=layout
                ).seconds
                visit.page.wait_for_timeout(300)
            page_heap = visit.heap_after_gc()
            worker.send("HeapProfiler.collectGarbage")
            worker_heap = worker.send("Runtime.getHeapUsage")
            py = worker.evaluate(WORKER_STATS)
            fires = visit.page.evaluate(
                "window.__bench.events.filter((e) => e.type === 'fire').length"
            )
            samples.append(
                {
                    "t": elapsed,
                    "page": page_heap["usedSize"],
                    "worker": worker_heap["usedSize"],
                    "py": py,
                    "fires": fires,
                }
            )
    rows = [
        "| t, s | page JS heap, MB | worker JS heap, MB | wasm memory, MB | malloc in use, MB "
        "| Python gc objects | live PyProxies made since | fires so far |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for x in samples:
        py = x["py"]
        rows.append(
            f"| {x['t']:.0f} | {x['page'] / 1e6:.3f} | {x['worker'] / 1e6:.3f} | "
            f"{py['wasm'] / 1e6:.1f} | "
            f"{py['inUse'] / 1e6:.3f} | {py['objects']:,} | {py['proxies']} | {x['fires']} |"
        )
    first = samples[1] if len(samples) > 2 else samples[0]
    last = samples[-1]
    growth = {
        "page": (last["page"] - first["page"]) / 1e6,
        "worker": (last["worker"] - first["worker"]) / 1e6,
        "malloc": (last["py"]["inUse"] - first["py"]["inUse"]) / 1e6,
        "objects": last["py"]["objects"] - first["py"]["objects"],
        "proxies": last["py"]["proxies"],
    }
    flat = (
        growth["page"] < 0.2
        and growth["worker"] < 0.5
        and growth["malloc"] < 0.5
        and growth["proxies"] == 0
    )
    rows += [
        "",
        f"One worker-mode page driven by the scripted visitor for {plan.memory_s:.0f} s, sampled "
        f"every {plan.memory_every_s:.0f} s after a forced GC (page and worker: CDP "
        "`HeapProfiler.collectGarbage`, `Runtime.getHeapUsage`; the worker through Target "
        "auto-attach). Python's figures come from the worker's own Pyodide, reached through "
        "CDP with no hook in the product (the worker's debugger is paused once, in Pyodide's "
        "own code, to keep a reference to its API): `gc.collect()` then "
        "`len(gc.get_objects())`; malloc in use is dlmalloc's `mallinfo().uordblks` (Python's "
        "heap and everything else C allocates; Pyodide has no pymalloc, so "
        "`sys.getallocatedblocks()` reads 0); wasm memory is Pyodide's linear memory (it never "
        "shrinks); live PyProxies are those created after the sampler turned on Pyodide's "
        "allocation tracing (after boot, so the Driver's two are not in it) and not destroyed, "
        "less the sampler's own.",
        "",
        f"From the first sample in the session to the last: page heap {growth['page']:+.3f} MB, "
        f"worker heap {growth['worker']:+.3f} MB, malloc in use {growth['malloc']:+.3f} MB, "
        f"gc objects {growth['objects']:+,}, live proxies {growth['proxies']}. "
        f"Target: flat — {yes(flat)}."
        + (
            f" Where the live proxies were made: {last['py']['proxyStacks']}."
            if growth["proxies"]
            else ""
        ),
    ]
    return section(
        f"Browser: memory over a {plan.memory_s / 60:.0f}-minute session (worker mode)", rows
    )
