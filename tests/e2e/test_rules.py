"""Cool-down, back-off, the session cap, suppression contexts and the toast, in the page.

These pages are served on the server's origin through page.route, each with
an inline config (`<script type="application/json" id="pytrigger-config">`)
whose timings are short enough for a test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2ekit import Site

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rules</title>
<style>
  body {{ margin: 0; font: 16px system-ui; }}
  .card {{ position: absolute; width: 220px; height: 160px; background: #dde; user-select: none; }}
  #a {{ left: 40px; top: 200px; }}  #b {{ left: 400px; top: 200px; }}
  #corner {{ right: 16px; bottom: 16px; }}
  #text {{ position: absolute; left: 40px; top: 420px; }}
  #other {{ position: absolute; left: 40px; top: 480px; }}
  #ime {{ position: absolute; left: 400px; top: 480px; }}
</style>
<script src="/pytrigger/pytrigger.js" defer></script>
<script type="application/json" id="pytrigger-config">{config}</script>
</head><body>
  <div class="card" id="a">A</div><div class="card" id="b">B</div>
  <div class="card" id="corner">corner</div>
  <p id="text">Select these words to start a selection.</p>
  <input id="other" type="text" aria-label="another field">
  <input id="ime" type="text" aria-label="a field that is part of the target">
</body></html>
"""


def serve_rules(site: Site, triggers: list[dict[str, Any]]) -> None:
    # "</" would end the <script> element the config sits in
    config = json.dumps({"version": 1, "triggers": triggers}).replace("</", "<\\/")
    site.serve("/t/rules.html", PAGE.format(config=config))
    site.goto("/t/rules.html")
    site.ready()


def outcomes(site: Site, trigger: str) -> list[tuple[str, str | None]]:
    return [
        (e["type"], e["detail"].get("reason"))
        for e in site.events()
        if e["detail"].get("trigger") == trigger and e["type"] in ("fire", "suppressed")
    ]


def test_cooldown_backoff_and_max_per_session(site: Site) -> None:
    serve_rules(
        site,
        [
            {
                "id": "dwell",
                "target": "#a",
                "when": {"signal": "dwell_ms", "gte": 200},
                "cooldown_ms": 1000,
                "backoff": 2,
                "max_cooldown_ms": 10000,
                "max_per_session": 3,
            }
        ],
    )
    site.hover("#a", 350)  # fire 1; the next waits 1 s
    site.hover("#a", 350)  # within 1 s: cool-down
    site.pause(900)
    site.hover("#a", 350)  # past 1 s: fire 2; the next waits 2 s (back-off: 2 times)
    site.pause(700)
    site.hover("#a", 350)  # ~1.4 s after fire 2: would pass a 1 s wait, not a 2 s one
    site.pause(1600)
    site.hover("#a", 350)  # past 2 s: fire 3 — the session's last
    site.pause(200)
    site.hover("#a", 350)  # the cap comes first
    site.pause(150)
    assert outcomes(site, "dwell") == [
        ("fire", None),
        ("suppressed", "cooldown"),
        ("fire", None),
        ("suppressed", "cooldown"),
        ("fire", None),
        ("suppressed", "max_per_session"),
    ]
    fires = [e["at"] for e in site.events("fire")]
    assert fires[1] - fires[0] >= 1000 and fires[2] - fires[1] >= 2000
    stats = site.evaluate("pytrigger.stats()")
    assert stats["triggers"] == [
        {
            "trigger": "dwell",
            "variant": None,
            "fire": 3,
            "suppressed": {"cooldown": 2, "max_per_session": 1},
        }
    ]


def test_each_suppression_context_holds_a_trigger_back(site: Site) -> None:
    contexts = ["dragging", "composing", "selecting_text", "form_filling", "hidden"]
    serve_rules(
        site,
        [
            {
                "id": "ctx",
                # #ime is part of the target, so typing in it is not form_filling
                "target": "#a, #ime",
                "when": {"signal": "dwell_ms", "gte": 200},
                "cooldown_ms": 0,
                "max_per_session": 20,
                "suppress_when": contexts,
            }
        ],
    )
    mouse, keyboard = site.page.mouse, site.page.keyboard
    blank = (900, 600)
    site.hover("#a", 350, away=blank)  # no context: fires
    site.wait("fire", "ctx")

    # dragging: a pointer held down while moving (pressed on #b, which is
    # user-select: none, so no text selection starts)
    bx, by = site.center("#b")
    ax, ay = site.center("#a")
    mouse.move(bx, by)
    mouse.down()
    mouse.move(ax, ay, steps=8)
    site.pause(350)
    mouse.up()
    mouse.move(*blank)
    site.wait("suppressed", "ctx", count=1)

    # composing: an IME composition in a field, through CDP's Input.imeSetComposition
    # (real IME input as the browser receives it; Playwright has no IME API)
    site.page.click("#ime")
    site.cdp.send("Input.imeSetComposition", {"text": "か", "selectionStart": 1, "selectionEnd": 1})
    site.hover("#a", 350, away=blank)
    site.wait("suppressed", "ctx", count=2)
    site.cdp.send("Input.insertText", {"text": "か"})  # commits: compositionend
    mouse.click(*blank)  # the field loses focus

    # selecting_text: a double click selects a word
    tx, ty = site.center("#text")
    mouse.dblclick(tx - 40, ty)
    assert site.evaluate("getSelection().toString().length > 0")
    site.hover("#a", 350, away=blank)
    site.wait("suppressed", "ctx", count=3)
    mouse.click(*blank)  # collapses the selection
    assert site.evaluate("getSelection().isCollapsed")

    # form_filling: another field has focus and had input in the last 5 s
    site.page.click("#other")
    keyboard.type("x")
    site.hover("#a", 350, away=blank)
    site.wait("suppressed", "ctx", count=4)
    mouse.click(*blank)

    # hidden: headless Chromium never hides its tab, so the test makes
    # document.visibilityState report "hidden" and dispatches the
    # visibilitychange event the browser would send
    site.evaluate(
        "Object.defineProperty(document, 'visibilityState', {configurable: true,"
        " get: () => 'hidden'}); document.dispatchEvent(new Event('visibilitychange'))"
    )
    site.hover("#a", 350, away=blank)
    site.wait("suppressed", "ctx", count=5)
    site.evaluate(
        "delete document.visibilityState; document.dispatchEvent(new Event('visibilitychange'))"
    )
    assert site.evaluate("document.visibilityState") == "visible"

    site.hover("#a", 350, away=blank)  # every context cleared: fires again
    site.wait("fire", "ctx", count=2)
    assert outcomes(site, "ctx") == [
        ("fire", None),
        ("suppressed", "dragging"),
        ("suppressed", "composing"),
        ("suppressed", "selecting_text"),
        ("suppressed", "form_filling"),
        ("suppressed", "hidden"),
        ("fire", None),
    ]


HOSTILE = {
    "title": '<img src="x" onerror="window.__pwned = 1">Hello',
    "body": "<script>window.__pwned = 2</script> & <b>bold</b>",
    "cta": "Go <i>now</i>",
}


def test_toast_is_text_never_covers_its_target_and_closes(site: Site) -> None:
    serve_rules(
        site,
        [
            {
                "id": "corner",
                "target": "#corner",
                "when": {"signal": "dwell_ms", "gte": 200},
                "cooldown_ms": 0,
                "action": {"toast": HOSTILE},
            }
        ],
    )
    site.hover("#corner", 350, away=(640, 100))
    site.wait("fire", "corner")
    toast = site.evaluate(
        """() => {
          const box = document.querySelector('.pytrigger-toast');
          const r = box.getBoundingClientRect(), c = document.querySelector('#corner')
            .getBoundingClientRect();
          return {
            title: box.querySelector('.pytrigger-toast-title').textContent,
            body: box.querySelector('.pytrigger-toast-body').textContent,
            cta: box.querySelector('.pytrigger-toast-cta').textContent,
            elements: box.querySelectorAll('img, script, b, i').length,
            overlap: Math.max(0, Math.min(r.right, c.right) - Math.max(r.left, c.left)) *
                     Math.max(0, Math.min(r.bottom, c.bottom) - Math.max(r.top, c.top)),
            position: getComputedStyle(box).position,
          };
        }"""
    )
    assert toast == {
        "title": HOSTILE["title"],
        "body": HOSTILE["body"],
        "cta": HOSTILE["cta"],
        "elements": 0,
        "overlap": 0,
        "position": "fixed",
    }
    assert site.evaluate("window.__pwned") is None

    # the close control removes it and tells the engine: a dismissal
    site.page.click(".pytrigger-toast-close")
    assert site.evaluate("document.querySelectorAll('.pytrigger-toast').length") == 0
    site.pause(100)
    stats = site.evaluate("pytrigger.stats()")
    assert stats["triggers"][0]["dismiss"] == 1

    # the call to action: pytrigger:cta with the trigger id, and the toast closes
    site.hover("#corner", 350, away=(640, 100))
    site.wait("fire", "corner", count=2)
    site.page.click(".pytrigger-toast-cta")
    assert site.wait("cta")["detail"] == {"trigger": "corner"}
    assert site.evaluate("document.querySelectorAll('.pytrigger-toast').length") == 0


TALL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tall</title>
<style>
  body {{ margin: 0; height: 3000px; font: 16px system-ui; }}
  #card {{ position: absolute; right: 16px; top: 560px; width: 260px; height: 200px; }}
</style>
<script src="/pytrigger/pytrigger.js" defer></script>
<script type="application/json" id="pytrigger-config">{config}</script>
</head><body><div id="card">card</div></body></html>
"""


#: makes the shim see a browser without `scrollend` (it then waits PLACE_MS after a scroll)
NO_SCROLLEND = "delete window.onscrollend;"


@pytest.mark.parametrize("scrollend", [True, False], ids=["scrollend", "no-scrollend"])
def test_a_toast_is_placed_again_after_a_scroll_and_a_resize(site: Site, scrollend: bool) -> None:
    if not scrollend:
        site.page.add_init_script(NO_SCROLLEND)
    config = {"version": 1, "triggers": [{
        "id": "card", "target": "#card", "when": {"signal": "dwell_ms", "gte": 200},
        "action": {"toast": {"title": "Hello", "body": "A toast that must not cover the card."}},
    }]}  # fmt: skip
    site.serve("/t/tall.html", TALL.format(config=json.dumps(config)))
    site.goto("/t/tall.html")
    site.ready()
    where = """() => {
      const box = document.querySelector('.pytrigger-toast');
      const r = box.getBoundingClientRect();
      const c = document.querySelector('#card').getBoundingClientRect();
      return {
        corner: [...box.classList].filter((n) => n.startsWith('pytrigger-at-')).sort().join(' '),
        overlap: Math.max(0, Math.min(r.right, c.right) - Math.max(r.left, c.left)) *
                 Math.max(0, Math.min(r.bottom, c.bottom) - Math.max(r.top, c.top)),
      };
    }"""
    # the card is in the bottom-right corner: the toast takes the next free one
    site.hover("#card", 350, away=(300, 100))
    site.wait("fire", "card")
    assert site.evaluate(where) == {"corner": "pytrigger-at-bottom pytrigger-at-left", "overlap": 0}
    # scrolled about 500 px, the card is at the top right: bottom-right is free again
    site.page.mouse.move(300, 300)
    site.page.mouse.wheel(0, 500)
    site.pause(600)  # the page stops scrolling: scrollend, or PLACE_MS without it
    assert site.evaluate("'onscrollend' in window") is scrollend
    assert site.evaluate("document.querySelector('#card').getBoundingClientRect().bottom") < 360
    bottom_right = {"corner": "pytrigger-at-bottom pytrigger-at-right", "overlap": 0}
    assert site.evaluate(where) == bottom_right
    # a smaller viewport: the toast is measured again (placed from its old
    # box, it would stay bottom-right, over the card) and moves to a free corner
    site.page.set_viewport_size({"width": 800, "height": 300})
    site.pause(600)
    placed = site.evaluate(where)
    best = site.evaluate("""() => {
      const box = document.querySelector('.pytrigger-toast'), c = document.querySelector('#card');
      const least = [];
      for (const v of ['top', 'bottom']) for (const h of ['left', 'right']) {
        box.className = `pytrigger-toast pytrigger-at-${v} pytrigger-at-${h}`;
        const r = box.getBoundingClientRect(), k = c.getBoundingClientRect();
        least.push(Math.max(0, Math.min(r.right, k.right) - Math.max(r.left, k.left)) *
                   Math.max(0, Math.min(r.bottom, k.bottom) - Math.max(r.top, k.top)));
      }
      return Math.min(...least);
    }""")
    assert placed == {"corner": "pytrigger-at-bottom pytrigger-at-left", "overlap": 0}
    assert best == 0
    assert site.problems() == []
