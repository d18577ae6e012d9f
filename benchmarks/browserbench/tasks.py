"""Figures 10 and 11: what the page's own load costs in long tasks, next to the shim's; and
what one ``postMessage`` to an idle worker costs the page."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from playwright.sync_api import Browser

from .common import DASH, LABEL, Plan, Visit, fmt, page_for, section, yes
from .kit import Servers, log, median

# --------------------------------------------------------------------------- 10. long tasks at load

LOAD_VARIANTS = ("bare", "posthog", "worker", "main")
#: a long task / long animation frame is 50 ms or more (the APIs' own threshold)
LONG_MS = 50.0


def _owner(url: str, peer_origin: str) -> str:
    """Whose script a long animation frame's script entry is, by its source URL."""
    if "/pytrigger/" in url:
        return "pytrigger"
    if url.startswith(peer_origin):
        return "posthog"
    return "other"


def figure_load_tasks(browser: Browser, servers: Servers, plan: Plan) -> str:
    """Cold loads of the session page, the variants taking turns: every long task from the
    navigation to 1.5 s after the page is running, and the long animation frames they were,
    with the time each script in them ran (Long Animation Frames API; it names only scripts
    of 5 ms or more)."""
    loads: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in range(plan.load_runs):
        for variant in LOAD_VARIANTS:
            log(f"load-tasks: {variant} #{run + 1}/{plan.load_runs}")
            with Visit(browser, inputs=False, timing=False) as visit:
                visit.open(servers, page_for(variant), variant)
                loads[variant].append(visit.recorded())
    rows = [
        "| | loads with a long task | long tasks, ms | long animation frames, ms | "
        "in them: pytrigger's scripts, ms | posthog-js's scripts, ms | the page's and other "
        "scripts, ms | no script (parsing, style, layout, paint), ms | frames made long by "
        "pytrigger's scripts |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|",
    ]

    def listed(values: list[float]) -> str:
        return ", ".join(fmt(v, 0) for v in sorted(values, reverse=True)) or "none"

    caused_by: dict[str, int] = {}
    for variant in LOAD_VARIANTS:
        with_long = 0
        longs: list[float] = []
        frames: list[float] = []
        by_owner: dict[str, float] = defaultdict(float)
        not_script = 0.0
        caused = 0
        for data in loads[variant]:
            long_tasks = [x["duration"] for x in data["long"]]
            with_long += bool(long_tasks)
            longs += long_tasks
            for frame in data["frames"]:
                if frame["duration"] < LONG_MS:
                    continue
                frames.append(frame["duration"])
                mine = 0.0
                scripts = 0.0
                for script in frame["scripts"]:
                    owner = _owner(script["url"] or "", servers.peer.origin)
                    by_owner[owner] += script["duration"]
                    scripts += script["duration"]
                    if owner == "pytrigger":
                        mine += script["duration"]
                not_script += max(0.0, frame["duration"] - scripts)
                # it holds a long task, and would hold none without pytrigger's scripts
                caused += 0 < frame["blocking"] <= mine
        caused_by[variant] = caused
        rows.append(
            f"| {LABEL[variant]} | {with_long} of {plan.load_runs} | {listed(longs)} | "
            f"{listed(frames)} | {fmt(by_owner['pytrigger'], 0)} | {fmt(by_owner['posthog'], 0)}"
            f" | {fmt(by_owner['other'], 0)} | {fmt(not_script, 0)} | {caused} |"
        )
    worker = caused_by["worker"]
    rows += [
        "",
        f"{plan.load_runs} cold loads per variant (a fresh context each: empty HTTP and code "
        "caches; the variants taking turns), each from navigation until 1.5 s after the page "
        "is running (pytrigger: `pytrigger:ready`), with no input. Long tasks from "
        "`PerformanceObserver` (`longtask`, buffered); the long animation frames "
        "(`long-animation-frame`, buffered) are the same long tasks with what ran in them: "
        "each script entry's duration is grouped by its source URL (pytrigger's files are "
        "under `/pytrigger/`, posthog-js comes from its own origin), and the rest of the "
        "frame ran no script: HTML parsing, style, layout and paint. The API names only "
        "scripts of 5 ms or more. A frame is made long by pytrigger's scripts when it holds a "
        "long task (its `blockingDuration`, the time its tasks ran past 50 ms each, is over "
        "0) and pytrigger's scripts in it ran at least that long: without them no task in it "
        "would have been long.",
        "",
        "Target for pytrigger (worker): no long task at load — long animation frames made "
        f"long by pytrigger's scripts: {worker}, {yes(worker == 0)}. (A long task the bare "
        "page has too is the page's own: the session page parses a 40-paragraph article.)",
    ]
    return section("Browser: long tasks at load, and whose they are", rows)


# --------------------------------------------------------------------------- 11. one postMessage

#: a keydown and its input, about as the shim posts them
MESSAGE = (
    '{"type":"events","events":[{"t":12345.6,"type":"keydown","key":"char","targets":'
    '["autocomplete-hint"]},{"t":12345.6,"type":"input"}]}'
)

POST_LOOP = """
async ({kind, n, gap, text}) => {
  if (!window.__idleWorker) {
    const w = new Worker('/bench/idle-worker.js', {type: 'module'});
    await new Promise((resolve) => { w.onmessage = resolve; w.postMessage('ping'); });
    const channel = new MessageChannel();
    w.postMessage('port', [channel.port2]);
    window.__idleWorker = {w, port: channel.port1};
  }
  const {w, port} = window.__idleWorker;
  return await new Promise((resolve) => {
    let i = 0, total = 0;
    const step = () => {
      const t0 = performance.now();
      if (kind === 'one') w.postMessage(text);
      else if (kind === 'ten') { for (let k = 0; k < 10; k++) w.postMessage(text); }
      else if (kind === 'port') port.postMessage(text);
      total += performance.now() - t0;
      if (++i < n) setTimeout(step, gap); else resolve(total);
    };
    setTimeout(step, gap);
  });
}
"""
POST_KINDS = {
    "none": ("a timer task that posts nothing", 0),
    "one": ("one `postMessage` to the worker", 1),
    "ten": ("ten `postMessage`s in one task", 10),
    "port": ("one post on a `MessageChannel` port held by the worker", 1),
}
#: ms between two tasks (a visitor's keys are about 100 ms apart)
POST_GAP_MS = 20


def figure_post_cost(browser: Browser, servers: Servers, plan: Plan) -> str:
    """On the bare page, a benchmark-only module worker that does nothing: the same string
    posted once per timer task, the kinds taking turns round by round. Two estimates per
    post: CDP ``ScriptDuration`` over the run less the run that posts nothing, and the mean
    of ``performance.now()`` around the call (coarsened to 100 µs on a page that is not
    cross-origin isolated, so only the mean of many counts)."""
    n = plan.post_tasks
    script: dict[str, list[float]] = defaultdict(list)
    timed: dict[str, list[float]] = defaultdict(list)
    with Visit(browser, inputs=False, timing=False) as visit:
        visit.open(servers, page_for("bare"), "bare")
        page = visit.page
        for i in range(plan.post_rounds):
            log(f"post: round {i + 1}/{plan.post_rounds}")
            kinds = list(POST_KINDS)
            kinds = kinds[i % len(kinds) :] + kinds[: i % len(kinds)]  # the order rotates
            for kind in kinds:
                before = visit.metrics()["ScriptDuration"]
                total_ms = page.evaluate(
                    POST_LOOP, {"kind": kind, "n": n, "gap": POST_GAP_MS, "text": MESSAGE}
                )
                script[kind].append((visit.metrics()["ScriptDuration"] - before) * 1000)
                timed[kind].append(total_ms)
    rows = [
        "| | script per task, µs (CDP, median of rounds) | per post, µs (CDP, less the "
        "empty task) | per post, µs (`performance.now()`, mean) |",
        "|---|---:|---:|---:|",
    ]
    per_post: dict[str, float] = {}
    for kind, (label, posts) in POST_KINDS.items():
        task_us = median(script[kind]) * 1000 / n
        if posts:
            paired = [
                (s - b) * 1000 / n / posts
                for s, b in zip(script[kind], script["none"], strict=True)
            ]
            per_post[kind] = median(paired)
            clock = median(timed[kind]) * 1000 / n / posts
            rows.append(f"| {label} | {fmt(task_us)} | {fmt(per_post[kind])} | {fmt(clock)} |")
        else:
            rows.append(f"| {label} | {fmt(task_us)} | {DASH} | {DASH} |")
    rows += [
        "",
        f"The bare session page and a benchmark-only module worker whose `onmessage` does "
        f"nothing; {n} timer tasks {POST_GAP_MS} ms apart per run, each posting a "
        f"{len(MESSAGE)}-character string (a keydown and its input, as the shim sends them), "
        f"{plan.post_rounds} rounds, the kinds taking turns. The first post of a task wakes "
        "the worker's thread, and that wake is what a post costs the page here; the string's "
        "length does not matter (the probe in docs/browser.md: a 1-character string costs "
        "the same). So the shim's session cost has a floor of about "
        f"{fmt(per_post['one'] / 1000, 2)} ms per message it posts: the profile figure counts "
        "its messages.",
    ]
    following = median(
        [(t - o) * 1000 / n / 9 for t, o in zip(script["ten"], script["one"], strict=True)]
    )
    rows += [
        "",
        f"In a task that posts ten, the nine after the first cost {fmt(following)} µs each "
        f"against {fmt(per_post['one'])} µs for a lone post: a task's events cross in one "
        "message for that reason. A post on a `MessageChannel` port held by the worker "
        f"costs {fmt(per_post['port'])} µs: the wake is still there.",
    ]
    return section("Browser: what one postMessage to an idle worker costs the page", rows)
