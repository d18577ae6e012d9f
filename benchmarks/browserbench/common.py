"""What the figures share: the variants, the plan, table formatting, and a visit (a fresh
context and page with the recorder and a CDP session).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Browser, BrowserContext, CDPSession, Page

from .kit import (
    Servers,
    WorkerCDP,
    recorder,
    wait_posthog,
    wait_ready,
)
from .visitor import VIEWPORT

VARIANTS = ("bare", "posthog", "worker", "main")
#: the session figure adds two calibration rows: the bare page with the shim's coalescing
#: pattern and nothing in it (a no-op requestAnimationFrame + 50 ms timer per moving frame),
#: and the worker with the same triggers and no actions (events only: listening and
#: deciding, no toast drawn)
SESSION_VARIANTS = (
    "bare", "bare-listen", "bare-raf", "posthog", "worker-before", "worker", "worker-quiet", "main",
)  # fmt: skip
LABEL = {
    "bare": "bare page",
    "bare-listen": "bare + the shim's listeners, all no-ops",
    "bare-raf": "bare + a no-op rAF per moving frame",
    "posthog": "posthog-js",
    "worker-before": "pytrigger (worker), the shim before (at e3ccb6b)",
    "worker": "pytrigger (worker)",
    "worker-quiet": "pytrigger (worker, no actions)",
    "main": "pytrigger (main thread)",
}
DASH = "\u2013"  # an en dash: "no value" in a table
TIMES = "\u00d7"
FIGURES = (
    "session", "per-event", "latency", "boot", "bytes", "throughput", "memory", "profile",
    "heap", "load-tasks", "post",
)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """How long and how often; --quick shrinks everything for development."""

    quick: bool
    session_s: float
    per_event_n: int
    per_event_rounds: int
    latency_keys: int
    latency_clicks: int
    latency_dwells: int
    boot_runs: int
    memory_s: float
    memory_every_s: float
    profile_s: float
    load_runs: int
    post_tasks: int
    post_rounds: int

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(True, 20, 10_000, 3, 40, 40, 10, 2, 60, 15, 10, 2, 100, 2)
        return cls(False, 60, 10_000, 11, 240, 160, 50, 5, 600, 30, 60, 8, 300, 5)


COMMAND = ""  # the exact command line, set by main()


def section(title: str, body: list[str]) -> str:
    return "\n".join([f"## {title}", "", f"Command: `{COMMAND}`", "", *body, ""])


def fmt(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{value:,.{digits}f}"


def yes(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


# --------------------------------------------------------------------------- opening pages


class Visit:
    """One fresh context (empty cache) and page with the recorder and a CDP session."""

    def __init__(
        self, browser: Browser, inputs: bool = True, worker_cdp: bool = False, timing: bool = True
    ) -> None:
        self.context: BrowserContext = browser.new_context(viewport=VIEWPORT)
        self.context.add_init_script(recorder(inputs, timing))
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(60_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.cdp: CDPSession = self.context.new_cdp_session(self.page)
        self.cdp.send("Performance.enable")
        self.worker = WorkerCDP(self.page, self.cdp) if worker_cdp else None

    def open(self, servers: Servers, path: str, variant: str, settle_ms: int = 1500) -> Any:
        """Navigate and wait until the variant is running; pytrigger:ready's detail."""
        if variant == "posthog":
            servers.peer.log.reset()
        self.page.goto(servers.url(path))
        ready = None
        if variant.startswith(("worker", "main")):
            ready = wait_ready(self.page)
        elif variant == "posthog":
            wait_posthog(self.page, servers.peer)
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(settle_ms)
        return ready

    def throttle(self, mbit_s: float, latency_ms: float = 20.0) -> None:
        """Emulate a slower network for this page and its workers (CDP)."""
        self.cdp.send("Network.enable")
        self.cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": latency_ms,
                "downloadThroughput": mbit_s * 1e6 / 8,
                "uploadThroughput": mbit_s * 1e6 / 8,
            },
        )

    def metrics(self) -> dict[str, float]:
        found = self.cdp.send("Performance.getMetrics")["metrics"]
        return {m["name"]: m["value"] for m in found}

    def heap_after_gc(self) -> dict[str, float]:
        self.cdp.send("HeapProfiler.collectGarbage")
        usage: dict[str, float] = self.cdp.send("Runtime.getHeapUsage")
        return usage

    def recorded(self) -> dict[str, Any]:
        data: dict[str, Any] = self.page.evaluate("window.__bench")
        return data

    def close(self) -> None:
        self.context.close()

    def __enter__(self) -> Visit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def page_for(variant: str) -> str:
    return f"/bench/{variant}/"
