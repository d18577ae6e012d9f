"""Privacy as a test: what leaves the browser, and when (DESIGN.md §2, §7).

Every request of the browser context is recorded (`context.on("request")`,
which also sees the worker's fetches). The collector is the real one inside
`pytrigger serve` (site `demo`, key `demo`, registered for the server's own
origin); what it stored is read from its SQLite database. The pages set
`data-report-interval` to a second or two so that the periodic upload (5
minutes by default) happens within the test.

Where the input cannot be real: Global Privacy Control is a browser setting
Playwright cannot switch, so `navigator.globalPrivacyControl` is defined by an
init script, before any page script runs, exactly as a GPC browser exposes it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from e2ekit import ROOT, Site
from playwright.sync_api import Request

from pytrigger.aggregates import check_report

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SECRET = "hunter2-correct-horse"
SCHEMA = json.loads((ROOT / "pytrigger/collector/report.schema.json").read_text())
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>privacy</title>
<script src="/pytrigger/pytrigger.js" data-config="/product/pytrigger.json"
        data-collector="/v1/aggregates" data-site="demo" data-report-interval="{interval}"
        {extra} defer></script>
</head><body>
<p><label>Your note <input id="note" autocomplete="off"></label></p>
<div class="product-card" style="width: 220px; height: 140px; margin: 40px; background: #eee">
  Trail Pack 20</div>
<button class="buy-button" style="margin: 40px">Buy</button>
<div style="height: 2400px"></div>
</body></html>"""
#: what no upload may contain: the typed text, key classes, coordinates, the
#: config's selectors, raw event types, URLs
FORBIDDEN = (SECRET, "hunter", '"char"', "backspace", '"x"', '"y"', "product-card",
             "buy-button", "#note", "pointermove", "keydown", "http", "127.0.0.1")  # fmt: skip


def privacy_page(site: Site, extra: str = "", interval: int = 1500, path: str = "/t/p") -> str:
    return site.serve(path, PAGE.format(extra=extra, interval=interval))


def record(site: Site) -> list[Request]:
    requests: list[Request] = []
    site.page.context.on("request", lambda request: requests.append(request))
    return requests


def uploads(requests: list[Request]) -> list[Request]:
    return [r for r in requests if urlsplit(r.url).path == "/v1/aggregates"]


def visit(site: Site) -> None:
    """A visitor types a secret, hovers a card, scrolls and rage-clicks: real input."""
    site.page.click("#note")
    site.page.keyboard.type(SECRET, delay=25)
    site.hover(".product-card", 700)
    site.wait("fire", "recommend")
    site.page.mouse.wheel(0, 500)
    site.pause(200)
    site.page.mouse.wheel(0, -500)
    x, y = site.center(".buy-button")
    for _ in range(3):
        site.page.mouse.click(x, y)
        site.pause(120)
    site.wait("fire", "rage-help")


def storage(site: Site) -> dict[str, Any]:
    found: dict[str, Any] = site.evaluate(
        """async () => ({
            local: Object.keys(localStorage), session: Object.keys(sessionStorage),
            cookie: document.cookie,
            idb: (await indexedDB.databases()).map((d) => d.name),
        })"""
    )
    return found


NOTHING_STORED = {"local": [], "session": [], "cookie": "", "idb": []}


def stored(db: Path, report_id: str) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT report_id, seq FROM reports WHERE report_id = ?", (report_id,)
        ).fetchall()
    return [(str(r[0]), int(r[1])) for r in rows]


def wait_until(check: Any, timeout: float, what: str, site: Site) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        site.pause(100)


def report_of(site: Site) -> dict[str, Any]:
    report: dict[str, Any] = site.evaluate("pytrigger.stats()")["report"]
    return report


def test_nothing_before_consent_and_only_aggregates_after(
    site: Site, server: str, collector_db: Path
) -> None:
    requests = record(site)
    privacy_page(site)
    site.goto("/t/p")
    site.ready()
    visit(site)  # triggers run in memory before consent (data-consent-scope="share")
    site.pause(3500)  # two report intervals
    assert uploads(requests) == [], "an upload before consent"
    assert storage(site) == NOTHING_STORED, "a storage write before consent"

    site.evaluate("pytrigger.consent(true)")
    first = wait_until(lambda: uploads(requests), 10, "no upload after consent", site)
    visit(site)  # more activity: a later snapshot of the same report
    site.pause(300)  # the last fire's latency is the last change
    report_id = report_of(site)["report_id"]
    wait_until(lambda: stored(collector_db, report_id), 10, "the report was not stored", site)
    seq = report_of(site)["seq"]
    wait_until(lambda: stored(collector_db, report_id) == [(report_id, seq)], 10,
               "the latest snapshot was not stored", site)  # fmt: skip

    origin = urlsplit(server).netloc
    assert all(urlsplit(r.url).netloc == origin for r in requests), "a request to another host"
    posted = uploads(requests)
    assert posted and posted[0] is first[0]
    for request in posted:
        assert request.method == "POST"
        assert request.headers["content-type"].startswith("text/plain")  # no preflight
        body = request.post_data or ""
        for needle in FORBIDDEN:
            assert needle not in body, f"{needle!r} left the browser: {body}"
        report = json.loads(body)
        jsonschema.validate(report, SCHEMA)
        assert check_report(report) == []
        assert report["report_id"] == report_id  # one report per page session
    # with consent, a report waits in the outbox until a 2xx is seen for its latest seq
    # (what stays: the consent, the visitor's local state (docs/segments.md) and the
    # random unit id experiments assign on)
    kept = ["pytrigger:consent", "pytrigger:state", "pytrigger:unit"]
    wait_until(lambda: sorted(storage(site)["local"]) == kept, 5,
               "the delivered report is still in the outbox", site)  # fmt: skip


def test_gpc_means_no_upload_whatever_the_site_says(site: Site, collector_db: Path) -> None:
    # Playwright cannot switch GPC on: define it as a GPC browser does (see the module doc)
    site.page.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    )
    requests = record(site)
    privacy_page(site, extra='data-consent="granted"')
    site.goto("/t/p")
    site.ready()
    site.evaluate("pytrigger.consent(true)")
    visit(site)
    site.pause(3500)
    report_id = report_of(site)["report_id"]
    site.page.close(run_before_unload=True)  # pagehide: no beacon either
    time.sleep(1.0)
    assert uploads(requests) == []
    assert stored(collector_db, report_id) == []


def test_revoking_consent_clears_storage_and_stops_uploads(site: Site, collector_db: Path) -> None:
    requests = record(site)
    privacy_page(site, extra='data-consent="opt-in"')
    site.goto("/t/p")
    site.ready()
    site.evaluate("pytrigger.consent(true)")
    visit(site)
    wait_until(lambda: uploads(requests), 10, "no upload after consent", site)
    assert "pytrigger:consent" in storage(site)["local"]

    site.evaluate("pytrigger.consent(false)")
    revoked = time.monotonic()
    wait_until(lambda: storage(site) == NOTHING_STORED, 1.0, "storage not cleared", site)
    assert time.monotonic() - revoked < 1.0
    count = len(uploads(requests))
    visit(site)  # more activity after the revocation
    site.pause(3500)
    report_id = report_of(site)["report_id"]
    site.page.close(run_before_unload=True)
    time.sleep(1.0)
    assert len(uploads(requests)) == count, "an upload after consent(false)"
    rows = stored(collector_db, report_id)
    assert len(rows) <= 1  # what was delivered before the revocation, and nothing since
