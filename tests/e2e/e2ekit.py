"""Helpers for the end-to-end tests (imported by conftest.py and the tests).

Everything waits by polling `page.evaluate` — `wait_for_function` evaluates
strings, which a strict CSP forbids — and reads what RECORDER (installed with
`add_init_script`, before any page script) wrote into `window.__pt`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from playwright.sync_api import CDPSession, Page, Route

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"

#: records every pytrigger:* DOM event, unhandled rejections, CSP violations
#: and long tasks / long animation frames into window.__pt
RECORDER = """
(() => {
  const pt = window.__pt = {events: [], problems: [], long: []};
  for (const name of ['ready', 'gate', 'fire', 'expire', 'suppressed', 'error', 'cta']) {
    document.addEventListener('pytrigger:' + name,
      (e) => pt.events.push({type: name, detail: e.detail, at: performance.now()}));
  }
  window.addEventListener('unhandledrejection',
    (e) => pt.problems.push('unhandledrejection: ' + (e.reason && e.reason.message || e.reason)));
  document.addEventListener('securitypolicyviolation',
    (e) => pt.problems.push('csp: ' + e.effectiveDirective + ' ' + e.blockedURI));
  for (const type of ['longtask', 'long-animation-frame']) {
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          pt.long.push({type: e.entryType, start: e.startTime, duration: e.duration,
                        blocking: e.entryType === 'longtask' ? e.duration : e.blockingDuration,
                        scripts: (e.scripts || []).map((x) => x.sourceURL)});
        }
      }).observe({type, buffered: true});
    } catch (err) { pt.problems.push('observer: ' + type); }
  }
})();
"""


class Site:
    """A page on the test server, and ways to drive and read it."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self._cdp: CDPSession | None = None

    # -- serving -------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base + path

    def serve(
        self,
        path: str,
        body: str | bytes,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> str:
        """Serve `body` at `path` on the server's origin (through page.route)."""
        url = self.url(path)

        def fulfill(route: Route) -> None:
            route.fulfill(
                status=200,
                body=body,
                headers={
                    "Content-Type": content_type,
                    "Cache-Control": "no-store",
                    **(headers or {}),
                },
            )

        self.page.route(url, fulfill)
        return url

    def goto(self, path: str) -> None:
        self.page.goto(self.url(path))

    # -- reading -------------------------------------------------------------
    def events(self, kind: str | None = None, trigger: str | None = None) -> list[dict[str, Any]]:
        recorded: list[dict[str, Any]] = self.page.evaluate("window.__pt.events")
        return [
            e
            for e in recorded
            if (kind is None or e["type"] == kind)
            and (trigger is None or e["detail"].get("trigger") == trigger)
        ]

    def problems(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__pt.problems")
        return found

    def wait(
        self, kind: str, trigger: str | None = None, timeout: float = 15.0, count: int = 1
    ) -> dict[str, Any]:
        """The `count`-th pytrigger:`kind` event (of `trigger`), polling."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(kind, trigger)
            if len(found) >= count:
                return found[count - 1]
            errors = self.events("error")
            if errors and kind != "error":
                raise AssertionError(f"pytrigger:error while waiting for {kind}: {errors}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no pytrigger:{kind} ({trigger or 'any'}) #{count} within {timeout} s; "
                    f"events: {self.events()}"
                )
            self.page.wait_for_timeout(40)

    def ready(self, timeout: float = 45.0) -> dict[str, Any]:
        """Wait for pytrigger:ready; return its detail."""
        detail: dict[str, Any] = self.wait("ready", timeout=timeout)["detail"]
        return detail

    def evaluate(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def pause(self, ms: float) -> None:
        self.page.wait_for_timeout(ms)

    # -- real input ------------------------------------------------------------
    def center(self, selector: str, index: int = 0) -> tuple[float, float]:
        element = self.page.locator(selector).nth(index)
        element.scroll_into_view_if_needed()
        box = element.bounding_box()
        assert box is not None, selector
        return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def hover(
        self, selector: str, ms: float, index: int = 0, away: tuple[float, float] = (640, 8)
    ) -> None:
        """Move the pointer onto `selector`, stay `ms`, move it to `away`."""
        x, y = self.center(selector, index)
        self.page.mouse.move(x, y)
        self.pause(ms)
        self.page.mouse.move(*away)

    @property
    def cdp(self) -> CDPSession:
        if self._cdp is None:
            self._cdp = self.page.context.new_cdp_session(self.page)
        return self._cdp

    def listeners(self, target: str = "document") -> list[str]:
        """The event types listened to on `document` or `window`, sorted
        (DevTools' getEventListeners, through CDP)."""
        handle = self.cdp.send("Runtime.evaluate", {"expression": target})
        found = self.cdp.send(
            "DOMDebugger.getEventListeners", {"objectId": handle["result"]["objectId"]}
        )
        self.cdp.send("Runtime.releaseObject", {"objectId": handle["result"]["objectId"]})
        return sorted(listener["type"] for listener in found["listeners"])
