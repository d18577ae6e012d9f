"""The upload path under faults (DESIGN.md §7): every report arrives exactly once.

The collector is the real one inside `pytrigger serve`; faults are made by
Playwright routing in front of it (`page.route`: answer 500 or 429 ourselves,
then `route.continue_()` to the real collector), by the browser going offline
(`context.set_offline`, which also makes `navigator.onLine` false and fires
`offline`/`online`), and by closing the tab while an upload is in flight.
"Exactly once" is read from the collector's database: one row per report id,
holding the page session's latest snapshot.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from e2ekit import Site
from playwright.sync_api import Route
from test_browser_privacy import privacy_page, report_of, stored, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

GRANTED = 'data-consent="granted"'  # consent obtained by the site's consent platform


def activity(site: Site) -> str:
    """Hover a card until its recommendation fires; the page session's report id."""
    site.hover(".product-card", 700)
    site.wait("fire", "recommend")
    site.pause(300)  # the fire's latency is the last change
    return str(report_of(site)["report_id"])


def delivered_once(site: Site, db: Path, report_id: str, timeout: float) -> None:
    seq = int(report_of(site)["seq"])
    wait_until(lambda: stored(db, report_id) == [(report_id, seq)], timeout,
               f"report {report_id} seq {seq} not stored exactly once", site)  # fmt: skip


def test_server_errors_are_retried_with_backoff_until_accepted(
    site: Site, collector_db: Path
) -> None:
    attempts: list[float] = []

    def flaky(route: Route) -> None:
        attempts.append(time.monotonic())
        if len(attempts) <= 3:
            route.fulfill(status=500, body="collector down")
        else:
            route.continue_()

    site.page.route(site.url("/v1/aggregates"), flaky)
    privacy_page(site, extra=GRANTED, interval=1000)
    site.goto("/t/p")
    site.ready()
    report_id = activity(site)
    delivered_once(site, collector_db, report_id, 30)
    assert len(attempts) >= 4
    gaps = [b - a for a, b in itertools.pairwise(attempts[:4])]
    # exponential backoff with jitter: 1 s, 2 s, 4 s, each between half and all of it
    assert gaps[0] >= 0.45 and gaps[1] >= 0.95 and gaps[2] >= 1.95, gaps


def test_retry_after_is_honoured(site: Site, collector_db: Path) -> None:
    attempts: list[float] = []

    def busy(route: Route) -> None:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            route.fulfill(status=429, headers={"Retry-After": "5"}, body="slow down")
        else:
            route.continue_()

    site.page.route(site.url("/v1/aggregates"), busy)
    privacy_page(site, extra=GRANTED, interval=1000)
    site.goto("/t/p")
    site.ready()
    report_id = activity(site)
    delivered_once(site, collector_db, report_id, 30)
    assert attempts[1] - attempts[0] >= 4.9, attempts


def test_offline_for_a_minute_then_delivered(site: Site, collector_db: Path) -> None:
    attempts: list[float] = []

    def count(route: Route) -> None:
        attempts.append(time.monotonic())
        route.continue_()

    site.page.route(site.url("/v1/aggregates"), count)
    privacy_page(site, extra=GRANTED, interval=1000)
    site.goto("/t/p")
    site.ready()  # the runtime comes from the server: go offline once it is in
    site.page.context.set_offline(True)
    report_id = activity(site)
    site.pause(60_000)
    assert attempts == [], "an upload attempt while offline"
    assert stored(collector_db, report_id) == []
    site.page.context.set_offline(False)
    delivered_once(site, collector_db, report_id, 20)


def test_a_tab_closed_mid_flush_delivers_on_the_next_page_load(
    site: Site, server: str, collector_db: Path
) -> None:
    held: list[Route] = []
    site.page.route(site.url("/v1/aggregates"), lambda route: held.append(route))  # unanswered
    privacy_page(site, extra=GRANTED, interval=1000)
    site.goto("/t/p")
    site.ready()
    report_id = activity(site)
    seq = int(report_of(site)["seq"])
    wait_until(lambda: held, 10, "no upload started", site)
    context = site.page.context
    site.page.close(run_before_unload=True)  # mid-flush: the upload never got its answer

    # the next page of the same site, same browser profile: the outbox goes out first
    again = Site(context.new_page(), server)
    privacy_page(again, extra=GRANTED, interval=1000)
    again.goto("/t/p")
    wait_until(lambda: stored(collector_db, report_id) == [(report_id, seq)], 20,
               "the held report was not delivered by the next page", again)  # fmt: skip
    again.ready()
    again.pause(2000)  # a second delivery would have happened by now
    assert stored(collector_db, report_id) == [(report_id, seq)]
    outbox = again.evaluate("localStorage.getItem('pytrigger:outbox') || '[]'")
    assert report_id not in outbox  # removed once the 2xx was seen
