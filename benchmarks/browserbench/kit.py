"""What the browser figures stand on: the servers and pages, the page recorder, CDP helpers.

- :class:`Servers` copies the built ``static/`` to a temporary folder, adds the
  benchmark-only pages under ``/bench/`` (from ``benchmarks/pages/``), and starts the real
  ``python -m pytrigger serve`` on it (loopback, a free port), so pytrigger's files come
  with their real compression and cache headers and the HTTP cache works (Playwright's
  ``page.route`` would turn it off).
  It also starts :class:`peer.PostHogPeer`, posthog-js's CDN and sink, on another
  loopback port.
- :class:`WorkerCDP` talks CDP to a page's dedicated worker (Target auto-attach, not
  flattened, through the page's own CDP session): heap usage, evaluation.
- :class:`PageCPU` reads the CPU time of a page's renderer threads from /proc.

The scripted visitor is visitor.py; posthog-js's side is peer.py.

Every wait is bounded; every server and browser is stopped by the ``with`` that made it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, CDPSession, Page, sync_playwright

from .peer import POSTHOG_DIST, POSTHOG_TOKEN, PostHogPeer

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
PAGES = ROOT / "benchmarks" / "pages"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
]


def log(message: str) -> None:
    print(f"bench_browser: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


# --------------------------------------------------------------------------- page recorder

#: installed with add_init_script before any page script: pytrigger:* events, long tasks,
#: long animation frames (with their scripts' attribution); when TIMING is true, Event
#: Timing entries (>= 16 ms, the API's floor); and when INPUTS is true, the input delay of
#: every pointerdown/keydown, read first thing (a window capture listener)
RECORDER = """
(() => {
  const b = window.__bench = {events: [], long: [], timing: [], delays: [], first: []};
  for (const name of ['ready', 'gate', 'fire', 'expire', 'suppressed', 'error']) {
    document.addEventListener('pytrigger:' + name,
      (e) => b.events.push({type: name, detail: e.detail, at: performance.now()}));
  }
  const watch = (options, push) => {
    try { new PerformanceObserver((list) => list.getEntries().forEach(push)).observe(options); }
    catch (err) { b.unsupported = (b.unsupported || []).concat(options.type); }
  };
  watch({type: 'longtask', buffered: true},
        (e) => b.long.push({start: e.startTime, duration: e.duration}));
  // long animation frames (>= 50 ms) with the scripts that ran in them: what a long task was
  b.frames = [];
  watch({type: 'long-animation-frame', buffered: true}, (e) => b.frames.push({
    start: e.startTime, duration: e.duration, blocking: e.blockingDuration,
    scripts: (e.scripts || []).map((s) => ({url: s.sourceURL, duration: s.duration}))}));
  const timing = (into) => (e) => into.push({name: e.name, start: e.startTime,
    duration: e.duration, id: e.interactionId || 0});
  if (TIMING) {
    watch({type: 'event', durationThreshold: 16, buffered: true}, timing(b.timing));
    watch({type: 'first-input', buffered: true}, timing(b.first));
  }
  if (INPUTS) {
    for (const type of ['pointerdown', 'keydown']) {
      addEventListener(type, (e) => b.delays.push({type, ms: performance.now() - e.timeStamp}),
                       {capture: true, passive: true});
    }
  }
})();
"""


def recorder(inputs: bool, timing: bool = True) -> str:
    js = {True: "true", False: "false"}
    return RECORDER.replace("INPUTS", js[inputs]).replace("TIMING", js[timing])


# --------------------------------------------------------------------------- pages and server

ARTICLE_PARAGRAPH = (
    "<p>Day {n}. We left the hut before six, crampons clicking on the frozen path, and by the "
    "col the sun had turned the snow to sugar. The guide counted us at every rope change; "
    "somebody always had too much gear and too little water, and the view from the top "
    "was worth every gram of it.</p>"
)


#: the document events the shim listens to (web/pytrigger.js, `handlers`)
SHIM_DOCUMENT_EVENTS = (
    "pointermove",
    "pointerover",
    "pointerdown",
    "pointerup",
    "click",
    "keydown",
    "input",
    "focusin",
    "focusout",
    "dragstart",
    "dragend",
    "compositionstart",
    "compositionend",
    "selectionchange",
    "visibilitychange",
)


def bench_pages(peer_origin: str) -> dict[str, str]:
    """The benchmark-only files, by path under the demo root (served at /)."""
    session = (PAGES / "session.html").read_text()
    article = "\n      ".join(ARTICLE_PARAGRAPH.format(n=n) for n in range(1, 41))
    latency = (PAGES / "latency.html").read_text()

    def shim(attrs: str = "", src: str = "pytrigger.js", config: str = "pytrigger.json") -> str:
        return (
            f'<script src="/pytrigger/{src}" data-config="/bench/{config}"{attrs} defer></script>'
        )

    heads = {
        "bare": "",
        # the floor of per-frame coalescing: what the shim's pointermove scheduling alone costs
        "bare-raf": '<script src="/bench/raf-floor.js" defer></script>',
        # the floor of listening at all: the shim's passive capture listeners, each a no-op
        "bare-listen": '<script src="/bench/listen-floor.js" defer></script>',
        "posthog": (
            f'<script src="{peer_origin}/static/array.js" defer></script>\n'
            '  <script src="/bench/posthog-init.js" defer></script>'
        ),
        "worker": shim(),
        # the shim as it was before issue 6's optimisations (BEFORE_COMMIT), same worker
        "worker-before": shim(src="pytrigger-before.js"),
        # the boot figure's snapshot policies (worker.js; the default is auto)
        "worker-snapshot-always": shim(' data-snapshot="always"'),
        "worker-snapshot-off": shim(' data-snapshot="off"'),
        # the boot figure's lazy start: the runtime waits for load and an idle moment
        "worker-idle": shim(' data-start="idle"'),
        "main-idle": shim(' data-mode="main" data-start="idle"'),
        # the same shim unminified (static/pytrigger/pytrigger.src.js), for the CPU profile
        "worker-src": shim(src="pytrigger.src.js"),
        "worker-quiet": shim(config="pytrigger-quiet.json"),
        "main": shim(' data-mode="main"'),
    }
    files = {}
    for variant, head in heads.items():
        files[f"bench/{variant}/index.html"] = (
            session.replace("{{HEAD}}", head)
            .replace("{{VARIANT}}", variant)
            .replace("{{ARTICLE}}", article)
        )
    for variant in ("worker", "main"):
        mode = ' data-mode="main"' if variant == "main" else ""
        files[f"bench/latency-{variant}/index.html"] = latency.replace(
            "{{HEAD}}", f'<script src="/pytrigger/pytrigger.js"{mode} defer></script>'
        ).replace("{{VARIANT}}", variant)
    files["bench/raf-floor.js"] = (
        "// Benchmark-only: the shim's coalescing pattern with nothing in it: on pointermove,\n"
        "// one requestAnimationFrame (plus the 50 ms fallback timer) per frame, both no-ops.\n"
        "(() => {\n"
        "  let frame = 0, timer = 0;\n"
        "  const flush = () => {\n"
        "    cancelAnimationFrame(frame); clearTimeout(timer); frame = timer = 0;\n"
        "  };\n"
        "  document.addEventListener('pointermove', () => {\n"
        "    if (frame) return;\n"
        "    frame = requestAnimationFrame(flush);\n"
        "    timer = setTimeout(flush, 50);\n"
        "  }, { capture: true, passive: true });\n"
        "})();\n"
    )
    files["bench/listen-floor.js"] = (
        "// Benchmark-only: the shim's listeners (passive, capture) with nothing in them.\n"
        "(() => {\n"
        "  const opts = { capture: true, passive: true };\n"
        "  const noop = () => {};\n"
        f"  for (const type of {json.dumps(SHIM_DOCUMENT_EVENTS)}) "
        "document.addEventListener(type, noop, opts);\n"
        "  for (const type of ['scroll', 'resize', 'pagehide', 'online']) "
        "window.addEventListener(type, noop, opts);\n"
        "  document.documentElement.addEventListener('pointerleave', noop, { passive: true });\n"
        "})();\n"
    )
    files["bench/idle-worker.js"] = (
        "// Benchmark-only: a module worker that does nothing with what it gets (the post\n"
        "// figure: what one postMessage to an idle worker costs the page).\n"
        "self.onmessage = (e) => { if (e.data === 'ping') self.postMessage('pong'); };\n"
    )
    files["bench/pytrigger.json"] = json.dumps(session_config(), indent=1)
    quiet = session_config()
    for trigger in quiet["triggers"]:
        trigger.pop("action", None)
        if "gate" in trigger:
            trigger["gate"].pop("action", None)
    files["bench/pytrigger-quiet.json"] = json.dumps(quiet, indent=1)
    files["bench/posthog-init.js"] = (
        "// Benchmark-only: posthog-js as an honest peer. Autocapture, rage clicks and page\n"
        "// views on; the user-agent filter off (headless Chromium looks like a bot, and\n"
        "// posthog-js would drop every event); every request to a loopback sink.\n"
        f"posthog.init({json.dumps(POSTHOG_TOKEN)}, "
        + json.dumps(
            {
                "api_host": peer_origin,
                "autocapture": True,
                "rageclick": True,
                "capture_pageview": True,
                "capture_pageleave": True,
                "opt_out_useragent_filter": True,
            }
        )
        + ");\n"
    )
    for name in (
        "throughput.html",
        "throughput-page.js",
        "throughput-worker.js",
        "throughput-hide-worker-scope.js",
    ):
        target = "bench/throughput/" + ("index.html" if name == "throughput.html" else name)
        files[target] = (PAGES / name).read_text()
    return files


def session_config() -> dict[str, Any]:
    """The demo's six triggers (search, product, article pages) in one config."""
    triggers = []
    for page in ("search", "product", "article"):
        triggers += json.loads((STATIC / "demo" / page / "pytrigger.json").read_text())["triggers"]
    return {"version": 1, "privacy": {"mode": "unlinkable"}, "triggers": triggers}


#: the shim before issue 6's optimisations (its BENCHMARKS.md "before" figures)
BEFORE_COMMIT = "e3ccb6b"


class Servers:
    """`pytrigger serve` on a private copy of static/ with the bench pages, and the peer."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bench_browser-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.peer = PostHogPeer()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> Servers:
        try:
            if not (STATIC / "pytrigger" / "pytrigger.js").is_file():
                raise SystemExit("static/ is not built: run `python3 build.py` first")
            if not (POSTHOG_DIST / "array.js").is_file():
                raise SystemExit("node_modules/posthog-js is missing: run `python3 build.py`")
            self.peer.__enter__()
            static = self.folder / "static"
            shutil.copytree(STATIC, static)
            before = subprocess.run(
                ["git", "show", f"{BEFORE_COMMIT}:web/pytrigger.js"],
                cwd=ROOT, capture_output=True, check=False,
            )  # fmt: skip
            if before.returncode != 0:
                raise SystemExit(
                    f"the session figure compares with the shim at commit {BEFORE_COMMIT}, "
                    f"which `git show` cannot read here: {before.stderr.decode().strip()}"
                )
            (static / "pytrigger" / "pytrigger-before.js").write_bytes(before.stdout)
            for rel, text in bench_pages(self.peer.origin).items():
                path = static / "demo" / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            self._log = (self.folder / "serve.log").open("wb")
            cmd = [
                sys.executable, "-m", "pytrigger", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--db", f"sqlite:///{self.folder / 'bench.sqlite3'}",
                "--static", str(static),
            ]  # fmt: skip
            self._proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(self.url("/bench/bare/"), timeout=2):
                        break
                except OSError as error:
                    if self._proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(
                            "pytrigger serve did not come up:\n"
                            + (self.folder / "serve.log").read_text(errors="replace")
                        ) from error
                    time.sleep(0.1)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        self.peer.__exit__()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# --------------------------------------------------------------------------- waiting


def poll(page: Page, expression: str, timeout: float, what: str, arg: Any = None) -> Any:
    """Evaluate `expression` every 50 ms until it is truthy; its value. Bounded."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        page.wait_for_timeout(50)


def wait_ready(page: Page, timeout: float = 90.0) -> dict[str, Any]:
    """pytrigger:ready's detail (and `at`, page ms); raises on pytrigger:error."""
    found = poll(
        page,
        "(() => { const e = window.__bench.events.find((x) => x.type === 'ready' || "
        "x.type === 'error'); return e || null; })()",
        timeout,
        "pytrigger:ready",
    )
    if found["type"] == "error":
        raise RuntimeError(f"pytrigger:error: {found['detail']}")
    detail: dict[str, Any] = dict(found["detail"])
    detail["at"] = found["at"]
    return detail


def wait_posthog(page: Page, peer: PostHogPeer, timeout: float = 30.0) -> None:
    """posthog-js initialised and its remote config answered."""
    poll(page, "!!(window.posthog && window.posthog.__loaded)", timeout, "posthog.__loaded")
    deadline = time.monotonic() + timeout
    while not peer.log.snapshot()["requests"].get("GET config.js"):
        if time.monotonic() > deadline:
            raise TimeoutError("posthog-js never asked for its remote config")
        page.wait_for_timeout(50)


# --------------------------------------------------------------------------- CDP to a worker


class WorkerCDP:
    """CDP to the page's dedicated worker, through the page's CDP session: Target
    auto-attach (not flattened), commands as Target.sendMessageToTarget. Set it up before
    the page creates the worker."""

    def __init__(self, page: Page, cdp: CDPSession) -> None:
        self.page = page
        self.cdp = cdp
        self.session: str | None = None
        self.url: str | None = None
        self._next = 0
        self._results: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []  # only while `keep_events`
        self.keep_events = False
        cdp.on("Target.attachedToTarget", self._attached)
        cdp.on("Target.receivedMessageFromTarget", self._message)
        cdp.send(
            "Target.setAutoAttach",
            {"autoAttach": True, "waitForDebuggerOnStart": False, "flatten": False},
        )

    def _attached(self, event: dict[str, Any]) -> None:
        info = event["targetInfo"]
        if info["type"] == "worker" and self.session is None:
            self.session = event["sessionId"]
            self.url = info["url"]

    def _message(self, event: dict[str, Any]) -> None:
        if event.get("sessionId") != self.session:
            return
        message = json.loads(event["message"])
        if "id" in message:
            self._results[message["id"]] = message
        elif self.keep_events:
            self.events.append(message)

    def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        """The first kept event named `method` (removed from the list), waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    return self.events.pop(i)
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker CDP: no {method} within {timeout:.0f} s")
            self.page.wait_for_timeout(10)

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while self.session is None:
            if time.monotonic() > deadline:
                raise TimeoutError("no worker target attached")
            self.page.wait_for_timeout(20)
        self._next += 1
        ident = self._next
        message = {"id": ident, "method": method, "params": params or {}}
        self.cdp.send(
            "Target.sendMessageToTarget",
            {"sessionId": self.session, "message": json.dumps(message)},
        )
        while ident not in self._results:
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker CDP {method}: no answer within {timeout:.0f} s")
            self.page.wait_for_timeout(5)
        answer = self._results.pop(ident)
        if "error" in answer:
            raise RuntimeError(f"worker CDP {method}: {answer['error']}")
        return answer["result"]

    def evaluate(self, expression: str, timeout: float = 60) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"worker evaluate: {result['exceptionDetails']}")
        return result["result"].get("value")


# --------------------------------------------------------------------------- CPU time from /proc


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _renderers() -> list[int]:
    """This process's Chromium renderer processes (never another test run's browser)."""
    pids = []
    for pid in _descendants(os.getpid()):
        try:
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            continue
    return pids


def _thread_ms(pid: int, tid: int) -> float:
    """CPU time a thread has run, ms (schedstat: ns on the CPU)."""
    try:
        return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0]) / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


class PageCPU:
    """CPU time of one page's renderer threads, read from /proc: the main thread (its tid is
    the process id) and its dedicated workers. CPU time, unlike CDP's TaskDuration (wall
    time), does not grow when a busy machine preempts the thread."""

    def __init__(self, page: Page) -> None:
        before = {pid: _thread_ms(pid, pid) for pid in _renderers()}
        page.evaluate(
            "() => { const end = performance.now() + 300; while (performance.now() < end); }"
        )
        after = {pid: _thread_ms(pid, pid) for pid in _renderers()}
        grown = sorted(((after[p] - before.get(p, 0.0), p) for p in after), reverse=True)
        if not grown or grown[0][0] < 150:
            raise RuntimeError("cannot tell which renderer process runs the page")
        self.pid = grown[0][1]

    def read(self) -> dict[str, float]:
        main = _thread_ms(self.pid, self.pid)
        workers = 0.0
        try:
            tids = [int(t) for t in os.listdir(f"/proc/{self.pid}/task")]
        except OSError:
            tids = []
        for tid in tids:
            try:
                name = Path(f"/proc/{self.pid}/task/{tid}/comm").read_text().strip()
            except OSError:
                continue
            if name.startswith("DedicatedWorker"):
                workers += _thread_ms(self.pid, tid)
        return {"main": main, "worker": workers}
