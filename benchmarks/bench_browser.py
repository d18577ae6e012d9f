"""pytrigger in a real browser, against the same page bare and with posthog-js, in one run.

Debian's Chromium (headless, through Playwright) loads benchmark-only pages served by the
real ``python -m pytrigger serve`` from a private copy of the built ``static/`` (see
browserbench/kit.py), in variants of one demo-like page: **bare** (no script),
**posthog-js** (the npm package pinned in package.json, autocapture, rage clicks and page
views on, served from and sending to a loopback peer: browserbench/peer.py), **pytrigger
worker** (the default) and **pytrigger main** (``data-mode="main"``). Figures, each printed
as a Markdown section with the command that produced it:

1. main-thread cost of a scripted session (real mouse, keyboard and wheel input, the pointer
   stepping every 8 ms; the variants' pages open side by side and taking turns in 10 s
   slices): CDP ``Performance.getMetrics`` ScriptDuration/TaskDuration, the renderer
   threads' CPU time from /proc, long tasks, Event Timing for clicks and keys, input delay,
   JS heap after GC;
2. added main-thread cost per input event (10,000 synthetic pointermove / keydown events
   dispatched in a loop, rounds taking turns across the pages, median difference with bare);
3. event-to-decision latency (``pytrigger:fire`` ``latencyMs``) for decisions made by a
   keydown, a click and a deadline;
4. time from the script tag to ``pytrigger:ready`` (``bootMs``), cold and warm;
5. bytes on the wire, first and repeat visit (Resource Timing ``transferSize`` on the page
   and in the worker), and the shim's gzip -9 size;
6. engine throughput in Pyodide (a worker of the benchmark's own that boots the bundle with
   worker.js's ``boot()`` and runs bench_engine.py's ``measure``) next to CPython's;
7. memory over a long worker-mode session: page and worker JS heaps, Pyodide's wasm memory,
   malloc in use, Python's gc objects, live PyProxies (the worker's Pyodide is reached
   through CDP, from a paused frame of its own code: the product is not changed);
8. where the time goes: CPU profiles of the page (the session, the synthetic loops) and of
   the worker (CPU per message, cProfile of its Python);
9. where the page's JS heap goes: a heap snapshot after a session, less the bare page's,
   by kind (machine code, bytecode, DOM interfaces touched, the shim's objects);
10. long tasks at load, and whose they are: cold loads of every variant with the long
    animation frames' script attribution (pytrigger's files, posthog-js, the page's own,
    no script at all);
11. what one ``postMessage`` to an idle worker costs the page (a benchmark-only worker on
    the bare page): the floor under the shim's cost per message.

Only 127.0.0.1 is contacted; every loop is bounded in count and time; the servers and the
browser are stopped on the way out, on error too. Progress goes to stderr.

Run: .venv/bin/python benchmarks/bench_browser.py [--quick] [--only NAME[,NAME...]]
(--quick: 20 s sessions, a 60 s memory run, fewer rounds: for development. The full run
takes about half an hour.)
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable

from browserbench import common
from browserbench.common import FIGURES, TIMES, Plan
from browserbench.cpu_profile import figure_profile
from browserbench.engine import figure_memory, figure_throughput
from browserbench.heap import figure_heap
from browserbench.kit import CHROMIUM, Servers, chromium, log
from browserbench.latency import figure_latency
from browserbench.loading import figure_boot, figure_bytes
from browserbench.peer import posthog_version
from browserbench.session import figure_per_event, figure_session
from browserbench.tasks import figure_load_tasks, figure_post_cost
from browserbench.visitor import VIEWPORT
from playwright.sync_api import Browser

# --------------------------------------------------------------------------- main


CHANGES = """## Browser: what the figures led to

Each change below came from a figure in an earlier run of this benchmark. The session table
above compares the shim before them (commit e3ccb6b) with the shim now, in the same run.

- **Toast placement forced a layout every frame.** `getBoundingClientRect` was 1,883 ms/min
  in the first profile. Toasts are now placed when shown, and again only once scrolling or
  resizing has stopped for 150 ms (commits 60a9f6f, 248d28c).
- **Every pointer move was posted, and a requestAnimationFrame ran per moving frame.** The
  no-op rAF row shows that the pattern alone costs about ten times the target. Nothing runs
  per frame now: moves and scroll wait for one 50 ms timer (e326637). The engine also names
  the moves it can use (`Engine.move_needs()`: every move for `idle_ms`; otherwise only the
  first move while a gate that moves confirm is open, while a button is held, or after
  leaving the page). The shim listens to `pointermove` only while such a move can count.
  The empty-listeners row shows why: a listener with nothing in it already costs more than
  the rest of the shim's work on a move. `tests/test_move_needs.py` checks, as a property
  over random traces, that the moves left out change no decision.
- **One `postMessage` per event.** Discrete events are now queued and posted at the end of
  their task, so `pointerup` + `click` and `keydown` + `input` cross together.
- **`selectionchange` fired on every caret move, and reading the selection was the shim's
  costliest handler.** The engine now says whether any trigger reads the selection
  (`Engine.selection_needed()`). When none does, the listener is removed.
- **The worker paid about 50 µs per message for `js.performance.now()` through the FFI.**
  It now reads Emscripten's monotonic clock (`time.perf_counter`), which is the same clock,
  read from wasm (ec09205). Its timer is no longer re-armed for an unchanged deadline.
- **The shim was 10.1 KiB gzipped.** It is minified with terser at build time, and the
  readable source and a source map are served beside it (5215e7c).
- **A boot was mostly CPython starting.** A memory snapshot made at build time is restored
  from the HTTP cache instead, behind a sha256 and size guard with a fallback (7abe05b; the
  boot table's rows compare the policies). The worker is also created before the config
  arrives.
- **After a restore, importing pytrigger was half of a warm boot in the worker** (the boot
  steps: 0.4 to 0.5 s of `pytrigger.worker`'s import, then the wheel's load). The
  snapshot is now made with the wheel unpacked and the browser modules imported, so a
  restored worker loads no wheel and imports nothing (a46f4b5); Emscripten's module is
  parsed while the snapshot is read.
- **A microtask ran between two listeners of one task**, so `keydown` + `input` and
  `pointerup` + `click` were two `postMessage`s each. Messages now wait for a 0 ms timer:
  about a third fewer messages for the same input (4e9711d). A message to an idle worker
  costs the page about 0.1 ms here (waking the worker's thread; ten in a row cost about
  0.01 ms each).
- **Pointer boundaries came from `pointerover` and `pointerout`**, which fire at every
  element boundary. `pointerout` says nothing `pointerover` does not (the element left is
  the one the previous `pointerover` entered), so only `pointerover` is listened to, and
  the document's own `pointerleave` for leaving the page; a boundary outside every target
  ends in the listener.
- **The 0 ms timer added about 4 ms to key and click latency** (3.6 → 6.1 ms median): it
  waits behind the browser's input handling and rendering. A user-blocking
  `scheduler.postTask` did not help (a probe: still 3.6 ms from the key's listener to the
  post). Events that end what their task brings (a click, an input, a key that types
  nothing, leaving the page, the 50 ms batch) are now posted at their own microtask, with
  what their task queued before them; the rest still wait for the timer, so a task's events
  still cross in one message (2242ce0). A toast placed again after a scroll also rewrote its
  class, which forced a style and layout pass in `getBoundingClientRect` (27.5 ms/min in the
  profile): it is now measured once (again after a resize), its class written only when its
  corner changes (42fd452).
- **A first visit started CPython** (cold 3.1 s in the last run), because `auto` used the
  snapshot only from the HTTP cache. On a miss it now downloads it before starting when the
  first 250 ms of the download say all of it will be in within 1.5 s, and otherwise aborts
  that download, starts normally and fetches it after the boot, as before (the boot table's
  20 Mbit/s rows: what that costs when the network is slow). Under Save-Data it is never
  fetched. That probe first ran for 250 ms from the request, and on loopback it sometimes
  said "too slow" (2 runs in 9 of the fast-network test): its first bytes had waited for the
  worker, busy parsing Emscripten's module. It now starts at the first bytes and counts only
  the time the worker could read (a 10 ms tick measures how late it runs): restored in 16
  runs of 16 with both cores kept busy by two other processes (starting at the first bytes
  alone: 14 of 16).
- **The shim's script forced the page's first layout.** The long task at load looked like
  the page's own, until the long-animation-frame attribution (the "long tasks at load"
  table) named the shim's script in it: 37 to 59 ms, of which 22 to 37 ms was
  `forcedStyleAndLayoutDuration` (a probe of 10 cold loads). A deferred script runs before
  the page's first layout, and the shim read the scroll position and viewport there for
  its first scroll sample and context. They are now read at the first 50 ms batch, and
  the runtime (the worker, the config's fetch) starts in a task of its own; in the same
  probe the script's part of the frame fell to 6 to 17 ms, with no forced layout.
- **A post on a `MessageChannel` port costs the page less than one to the worker** (the
  postMessage table). The shim posting on such a port was tried, in an A/B session run of
  the shim before it and that one side by side: 166.5 against 166.2 ms/min of script over
  the bare page, no gain, so it was not kept.
- **A timer task costs the page about what a post does** (the postMessage table: 83.6 µs of
  script for a timer task that posts nothing). A probe of 30 s of the session counted 153
  timer tasks of the shim's: a 0 ms send timer for each target boundary (`pointerover`),
  a 50 ms batch timer for each wheel step (its only scroll event), and a 150 ms timer to
  place the toasts again after it. A boundary is now posted at its own microtask, a scroll
  50 ms or more after the last sample is sampled at once in its own listener, and toasts
  are placed again at `scrollend`: 5 timer tasks in the same probe, the same 184 posts. In
  an A/B session run (60 s, the shim before and after side by side): 143.5 → 133.5 ms/min
  of script over the bare page, main-thread CPU 203 → 97 ms/min over it.
- **Lazy start** (`data-start="idle"`, the boot table's last rows): the runtime waits for
  the load event and an idle moment; input is buffered meanwhile.
- **Half the posts were a card's enter or leave** (a probe counting the session's posts:
  197 of 406 a minute), and most crossings of a card decide nothing: the pointer leaves
  before the dwell threshold. The engine now says how long a target's boundaries may wait
  (`Engine.hold_needs()`: the smallest `dwell_ms` threshold less 100 ms, and
  `Engine.leave_holds()`: a leave after a plain threshold that has decided), the shim
  sends held boundaries first in its next message (or when an enter's hold runs out), and
  `Engine.feed` takes them late, its dwell counting from the event's own time (aede1c5).
  The same probe: 235 posts a minute. An A/B session run (the shim before and after side
  by side, 60 s each; without the held leave after a decided dwell, which came later):
  256 → 208 ms/min of script over the bare page, worker CPU 652 → 555 ms/min.
  `tests/test_hold_needs.py` checks, as a property, that an engine fed as the shim and the
  worker feed it decides exactly what one fed every event at its time decides. The toasts'
  stylesheet moved from the shim into the engine's `ready` message, which keeps the shim
  under 8 KiB with this code in it.

Left: the session's remaining main-thread script scales with the number of listener calls
and tasks, not with the code in them: the empty-listeners row costs about 10 µs per call on
this machine, and a `postMessage` to an idle worker about 0.1 ms. What a target config
needs (`pointerover` at element boundaries, `keydown`, `input`, `click`, focus, selection,
scroll) and one message per input task that can decide something set the floor here. The
heap figure splits the page's heap: most of it is V8's machine code for the shim's hot
functions and the DOM interfaces its listeners touch the first time, which a page whose own
scripts touch them already pays anyway.
"""


def header(plan: Plan) -> str:
    version = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    load = os.getloadavg()
    return "\n".join(
        [
            "## Browser benchmarks: setting",
            "",
            f"Command: `{common.COMMAND}`",
            "",
            f"{version}, headless (Playwright, `--disable-gpu`), viewport "
            f"{VIEWPORT['width']}{TIMES}{VIEWPORT['height']}; posthog-js {posthog_version()} "
            "from npm; "
            "pytrigger's bundle from static/ served by `pytrigger serve`. "
            "Load average at the start: "
            f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores "
            f"({'quick run: shortened, for development' if plan.quick else 'full run'}). All "
            "variants run in one process, one after the other, so their ratios share the machine's "
            "state; absolute figures move with the machine's load.",
            "",
        ]
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, for development")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(FIGURES)}")
    args = parser.parse_args(argv)
    only = {x.strip() for x in args.only.split(",") if x.strip()} or set(FIGURES)
    unknown = only - set(FIGURES)
    if unknown:
        parser.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    common.COMMAND = shlex.join([".venv/bin/python", "benchmarks/bench_browser.py", *argv])
    plan = Plan.make(args.quick)
    started = time.monotonic()
    print(header(plan), flush=True)
    steps: list[tuple[str, Callable[[Browser, Servers], str]]] = [
        ("session", lambda b, s: figure_session(b, s, plan)[0]),
        ("per-event", lambda b, s: figure_per_event(b, s, plan)),
        ("latency", lambda b, s: figure_latency(b, s, plan)[0]),
    ]
    with Servers() as servers, chromium() as browser:
        for name, run in steps:
            if name in only:
                print(run(browser, servers), flush=True)
        if only & {"boot", "bytes"}:
            text, _, visits = figure_boot(browser, servers, plan)
            if "boot" in only:
                print(text, flush=True)
            if "bytes" in only:
                print(figure_bytes(servers, visits), flush=True)
        for name, fig in (
            ("throughput", figure_throughput),
            ("memory", figure_memory),
            ("profile", figure_profile),
            ("heap", figure_heap),
            ("load-tasks", figure_load_tasks),
            ("post", figure_post_cost),
        ):
            if name in only:
                print(fig(browser, servers, plan), flush=True)
    if only == set(FIGURES):
        print(CHANGES, flush=True)
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
