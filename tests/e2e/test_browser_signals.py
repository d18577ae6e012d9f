"""Each signal of the demo site, driven with real input in Chromium (worker mode).

Input is Playwright's `page.mouse` / `page.keyboard` (real CDP input events,
hit-tested and dispatched by the browser), except where a test says otherwise.
Screenshots of the interventions go to docs/screenshots/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2ekit import Site

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _rect(site: Site, selector: str, index: int = 0) -> dict[str, float]:
    rect: dict[str, float] = site.evaluate(
        "([s, i]) => { const r = document.querySelectorAll(s)[i].getBoundingClientRect();"
        " return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; }",
        [selector, index],
    )
    return rect


def _overlap(a: dict[str, float], b: dict[str, float]) -> float:
    width = min(a["right"], b["right"]) - max(a["left"], b["left"])
    height = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    return max(0.0, width) * max(0.0, height)


def _toast(site: Site, trigger: str) -> dict[str, str | None]:
    found: dict[str, str | None] = site.evaluate(
        """(id) => {
          const box = document.querySelector(`.pytrigger-toast[data-trigger="${id}"]`);
          if (!box) return null;
          const text = (s) => { const n = box.querySelector(s); return n && n.textContent; };
          return {title: text('.pytrigger-toast-title'), body: text('.pytrigger-toast-body'),
                  cta: text('.pytrigger-toast-cta'), role: box.getAttribute('role')};
        }""",
        trigger,
    )
    return found


#: every message the page posts to the worker, with the page's time of posting
POSTS = """
(() => {
  const Real = window.Worker, posts = window.__posts = [];
  window.Worker = function (url, options) {
    const worker = new Real(url, options), post = worker.postMessage.bind(worker);
    worker.postMessage = (text) => {
      posts.push({at: performance.now(), msg: JSON.parse(text)});
      return post(text);
    };
    return worker;
  };
})();
"""


def _posted(site: Site, since: int) -> list[dict[str, Any]]:
    posts: list[dict[str, Any]] = site.evaluate("(n) => window.__posts.slice(n)", since)
    return posts


def _boundaries(post: dict[str, Any]) -> list[tuple[str, list[str]]]:
    events = post["msg"].get("events") or []
    return [(e["type"], e["targets"]) for e in events if e["type"] in BOUNDARIES]


BOUNDARIES = ("pointerenter", "pointerleave")


def test_crossings_of_a_card_wait_for_the_next_message(site: Site) -> None:
    """A card crossed in less than its dwell threshold decides nothing: its
    enter and leave are held (ready's `holds`, Engine.hold_needs) and go with
    the next message the page sends; an enter the pointer stays on goes when its
    hold (the 500 ms threshold less 100 ms) runs out, and the dwell fires on time;
    the leave after the dwell decided waits too (Engine.leave_holds), and one
    before it could goes at once."""
    site.page.add_init_script(POSTS)
    site.goto("/product/")
    site.ready()
    cards = [site.center(".product-card", i) for i in range(3)]  # scrolls first
    site.pause(500)
    start = len(_posted(site, 0))
    for x, y in cards:  # 150 ms on each card, then off every card
        site.page.mouse.move(x, y)
        site.pause(150)
    site.page.mouse.move(1270, 400)
    site.pause(800)  # longer than any hold
    assert [b for p in _posted(site, start) if (b := _boundaries(p))] == []  # none sent

    site.page.mouse.click(1270, 400)  # the next message carries them, first and in order
    site.pause(300)
    (post,) = [p for p in _posted(site, start) if _boundaries(p)]
    card = ["recommend"]
    assert _boundaries(post) == [("pointerenter", card), ("pointerleave", card)] * 3
    kinds = [e["type"] for e in post["msg"]["events"]]
    assert kinds == [*BOUNDARIES * 3, "pointerdown", "pointerup", "click"]
    times = [e["t"] for e in post["msg"]["events"]]
    assert times == sorted(times)
    assert site.events("fire") == [] and site.events("suppressed") == []

    start = len(_posted(site, 0))
    site.page.mouse.move(*cards[1])  # stays: the enter goes when its hold runs out
    site.pause(800)
    fire = site.wait("fire", "recommend", timeout=3)["detail"]
    assert 0 <= fire["latencyMs"] < 250, fire
    (post,) = [p for p in _posted(site, start) if _boundaries(p)]
    (enter,) = post["msg"]["events"]
    assert enter["type"] == "pointerenter" and enter["targets"] == card
    assert post["at"] - enter["t"] >= 399  # held 400 ms, not more than the margin allows
    # the dwell has decided: its leave lowers a condition that acted, and may wait
    site.page.mouse.move(1270, 400)
    site.pause(300)
    assert len([p for p in _posted(site, start) if _boundaries(p)]) == 1

    # a leave after a sent enter, before the dwell could decide, goes at once
    site.page.mouse.move(*cards[0])
    site.pause(440)
    site.page.mouse.move(1270, 400)
    site.pause(300)
    posts = [p for p in _posted(site, start) if _boundaries(p)]
    last = posts[-1]
    leave = last["msg"]["events"][-1]
    enter = next(e for e in reversed(posts[-2]["msg"]["events"]) if e["type"] == "pointerenter")
    assert leave["type"] == "pointerleave" and leave["targets"] == card
    if leave["t"] - enter["t"] < 500:  # the input came in time (it does, but on a stalled machine)
        assert last["at"] < enter["t"] + 500  # sent before the dwell's deadline
        assert site.events("suppressed") == []
    assert site.evaluate("pytrigger.stats()")["dropped"] == {}


def test_dwell_on_a_card_fires_after_600_ms_not_after_400(site: Site, screenshots: Path) -> None:
    site.goto("/product/")
    assert site.ready()["mode"] == "worker"
    site.hover(".product-card", 400, index=0)
    site.pause(400)
    assert site.events("fire") == [] and site.events("suppressed") == []

    site.hover(".product-card", 600, index=2, away=(1270, 400))
    fire = site.wait("fire", "recommend", timeout=3)["detail"]
    assert fire["replayed"] is False
    assert fire["variant"] is None and fire["segment"] is None
    assert 0 <= fire["latencyMs"] < 250, fire
    assert _toast(site, "recommend") == {
        "title": "You might also like",
        "body": "Customers who looked at this also chose the Trail Pack 30.",
        "cta": "Show me",
        "role": "status",
    }
    # the toast never covers the trigger's target: no product card at all
    toast = _rect(site, ".pytrigger-toast")
    for index in range(site.evaluate("document.querySelectorAll('.product-card').length")):
        assert _overlap(toast, _rect(site, ".product-card", index)) == 0
    site.page.screenshot(path=str(screenshots / "product-dwell.png"))


def test_rage_clicks_on_the_buy_button_offer_help(site: Site, screenshots: Path) -> None:
    site.goto("/product/")
    site.ready()
    x, y = site.center(".buy-button")
    site.page.mouse.click(x, y)
    site.page.mouse.click(x + 3, y + 2)
    site.pause(300)
    assert site.events("fire") == []  # two clicks are not a streak of three
    site.page.mouse.click(x + 1, y - 2)
    site.wait("fire", "rage-help", timeout=3)
    assert _toast(site, "rage-help")["title"] == "Having trouble?"
    assert _overlap(_rect(site, ".pytrigger-toast"), _rect(site, ".buy-button")) == 0
    site.page.screenshot(path=str(screenshots / "product-rage-click.png"))


def _hesitate_in_search(site: Site) -> None:
    """Focus the search box, type, and pause twice for more than 2.5 s."""
    site.page.click("#search")
    site.page.keyboard.type("t")
    site.pause(2600)
    site.page.keyboard.type("e")  # pause 1: 't' → 'e'; pause 2: 'e' → now, 2.5 s later


def test_search_hesitation_gate_then_pointer_move_fires(site: Site, screenshots: Path) -> None:
    site.goto("/search/")
    site.ready()
    _hesitate_in_search(site)
    gate = site.wait("gate", "quick-search", timeout=6)["detail"]
    assert gate == {"trigger": "quick-search", "variant": None, "segment": None}
    # the soft stage: the gate's own action, and no fire yet
    assert site.evaluate("document.querySelector('#search').classList.contains('pytrigger-hint')")
    assert site.evaluate("document.querySelector('#quick-search-modal').hidden")
    assert site.events("fire") == []

    site.page.mouse.move(400, 420)
    site.page.mouse.move(420, 430)
    fire = site.wait("fire", "quick-search", timeout=2)["detail"]
    assert fire["replayed"] is False and fire["latencyMs"] < 250
    assert not site.evaluate("document.querySelector('#quick-search-modal').hidden")
    assert site.events("expire") == []
    site.page.screenshot(path=str(screenshots / "search-quick-search.png"))


def test_search_hesitation_gate_expires_without_a_move(site: Site) -> None:
    site.goto("/search/")
    site.ready()
    _hesitate_in_search(site)
    gate = site.wait("gate", "quick-search", timeout=6)
    expire = site.wait("expire", "quick-search", timeout=5)
    assert expire["detail"] == {"trigger": "quick-search"}
    assert 2900 <= expire["at"] - gate["at"] <= 3600  # the gate's 3 s window
    assert site.events("fire") == []
    assert site.evaluate("document.querySelector('#quick-search-modal').hidden")


def test_keystroke_burst_shows_autocomplete_hints(site: Site, screenshots: Path) -> None:
    site.goto("/search/")
    site.ready()
    site.page.click("#search")
    site.page.keyboard.type("ten", delay=120)
    site.pause(300)
    assert site.events("fire") == []  # 3 keys: not more than 3
    site.page.keyboard.type("t")
    site.wait("fire", "autocomplete-hint", timeout=2)
    assert site.evaluate("document.querySelector('#search-hints').classList.contains('show-hints')")
    site.page.screenshot(path=str(screenshots / "search-autocomplete.png"))


def test_scrolling_at_twice_the_own_pace_offers_a_summary(site: Site, screenshots: Path) -> None:
    site.goto("/article/")
    site.ready()
    site.page.mouse.move(640, 400)
    # a wheel notch every 100 ms keeps the 300 ms velocity window steadily
    # filled (single notches far apart ramp up and down within the window)
    for _ in range(25):  # the visitor's own pace: the baseline
        site.page.mouse.wheel(0, 40)
        site.pause(100)
    assert site.events("fire") == []
    for _ in range(8):  # three times as fast
        site.page.mouse.wheel(0, 120)
        site.pause(100)
    site.wait("fire", "continue-reading", timeout=3)
    assert _toast(site, "continue-reading")["title"] == "Skimming?"
    site.page.screenshot(path=str(screenshots / "article-continue-reading.png"))


def test_leaving_through_the_top_edge_is_exit_intent(site: Site, screenshots: Path) -> None:
    site.goto("/article/")
    site.ready()
    while site.evaluate("performance.now()") < 3200:  # the trigger wants 3 s on the page
        site.pause(100)
    site.page.mouse.move(600, 300)
    site.page.mouse.move(600, 40)
    site.pause(100)
    assert site.events("fire") == []
    # page.mouse cannot leave the viewport; CDP's Input.dispatchMouseEvent can:
    # the browser itself then sends pointerout/mouseout with relatedTarget null
    site.cdp.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 600, "y": -20})
    site.wait("fire", "exit-offer", timeout=3)
    assert _toast(site, "exit-offer")["title"] == "Before you go"
    site.page.screenshot(path=str(screenshots / "article-exit-intent.png"))
