"""The scripted visitor: real ``page.mouse``/``page.keyboard``/wheel input on the session page.

The pointer steps every 8 ms (about 120 Hz) toward a new point every 0.3-0.9 s, often a
product card (to dwell); every 10 s the visitor clicks two sizes, types a word into the
search box and deletes it, rage-clicks the disabled buy button, and scrolls down and back up
with the wheel. Seeded, so every variant of the page gets the same input; bounded by time.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import Page, ViewportSize

VIEWPORT: ViewportSize = {"width": 1280, "height": 720}


@dataclass
class Layout:
    """Viewport centres of what the visitor touches (at scrollY 0)."""

    search: tuple[float, float]
    sizes: list[tuple[float, float]]
    buy: tuple[float, float]
    cards: list[tuple[float, float, float, float]]  # x, y, width, height

    @classmethod
    def read(cls, page: Page) -> Layout:
        boxes = page.evaluate(
            """() => {
              scrollTo(0, 0);
              const box = (el) => { const r = el.getBoundingClientRect();
                return [r.x + r.width / 2, r.y + r.height / 2, r.width, r.height]; };
              const h = innerHeight;
              return {
                search: box(document.querySelector('#search')),
                sizes: [...document.querySelectorAll('.sizes button:not(.buy-button)')].map(box),
                buy: box(document.querySelector('.buy-button')),
                cards: [...document.querySelectorAll('.product-card')].map(box)
                  .filter((b) => b[1] + b[3] / 2 < h - 10),
              };
            }"""
        )
        if not boxes["cards"]:
            raise RuntimeError("no product card in the first viewport: the layout changed")
        return cls(
            search=tuple(boxes["search"][:2]),
            sizes=[tuple(b[:2]) for b in boxes["sizes"]],
            buy=tuple(boxes["buy"][:2]),
            cards=[tuple(b) for b in boxes["cards"]],
        )


@dataclass
class SessionCounts:
    seconds: float = 0.0
    moves: int = 0
    clicks: int = 0
    keys: int = 0
    wheels: int = 0
    late_ticks: int = 0

    def add(self, other: SessionCounts) -> None:
        for name in ("seconds", "moves", "clicks", "keys", "wheels", "late_ticks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


TICK_S = 0.008  # the pointer's step: ~120 Hz
CYCLE_S = 10.0
WORDS = ("trail shoes", "tent", "rain jacket", "stove")


def _plan_cycle(rng: random.Random, layout: Layout, word: str) -> list[tuple[float, str, Any]]:
    """One 10 s cycle of the visitor's discrete actions: (offset s, kind, argument)."""
    plan: list[tuple[float, str, Any]] = []
    size = rng.choice(layout.sizes)
    plan += [(1.0, "click", size), (2.2, "click", rng.choice(layout.sizes))]
    plan.append((3.4, "click", layout.search))
    t = 3.6
    for ch in word:
        plan.append((t, "key", ch))
        t += rng.uniform(0.07, 0.14)
    t += 0.3
    for _ in word:
        plan.append((t, "key", "Backspace"))
        t += 0.05
    bx, by = layout.buy
    plan += [
        (6.4, "click", (bx - 4, by)),
        (6.6, "click", (bx, by + 2)),
        (6.8, "click", (bx + 3, by)),
    ]
    t = 7.4
    for direction in (1, -1):
        for _ in range(6):
            plan.append((t, "wheel", 120 * direction))
            t += 0.15
    return plan


def drive_session(page: Page, seconds: float, seed: int, layout: Layout) -> SessionCounts:
    """The scripted visitor for `seconds`: the pointer moves every 8 ms in small steps
    toward a new point (often a product card, to dwell) every 0.3-0.9 s; each 10 s it
    clicks two sizes, types a word into the search box and deletes it, rage-clicks the
    disabled buy button, and scrolls down and back up with the wheel. Bounded by time."""
    rng = random.Random(seed)
    counts = SessionCounts()
    mouse = page.mouse
    x, y = 640.0, 360.0
    goal = (x, y)
    next_goal_at = 0.0
    start = time.monotonic()
    base, ticks = start, 0
    cycle = 0
    plan = [(o, k, a) for o, k, a in _plan_cycle(rng, layout, WORDS[0])]
    while True:
        now = time.monotonic() - start
        if now >= seconds:
            break
        if now >= (cycle + 1) * CYCLE_S:
            cycle += 1
            plan = [
                (cycle * CYCLE_S + o, k, a)
                for o, k, a in _plan_cycle(rng, layout, WORDS[cycle % len(WORDS)])
            ]
        while plan and plan[0][0] <= now:
            _, kind, arg = plan.pop(0)
            if kind == "click":
                x, y = arg
                mouse.click(x, y)
                counts.clicks += 1
            elif kind == "key":
                page.keyboard.press(arg)
                counts.keys += 1
            elif kind == "wheel":
                mouse.wheel(0, arg)
                counts.wheels += 1
        if now >= next_goal_at:
            if rng.random() < 0.6:
                cx, cy, w, h = rng.choice(layout.cards)
                goal = (cx + rng.uniform(-w / 4, w / 4), cy + rng.uniform(-h / 4, h / 4))
            else:
                goal = (
                    rng.uniform(40, VIEWPORT["width"] - 40),
                    rng.uniform(60, VIEWPORT["height"] - 40),
                )
            next_goal_at = now + rng.uniform(0.3, 0.9)
        dx, dy = goal[0] - x, goal[1] - y
        dist = math.hypot(dx, dy)
        step = min(dist, rng.uniform(3.0, 9.0))
        if dist > 0.5:
            x += dx / dist * step
            y += dy / dist * step
        else:
            x += rng.uniform(-1, 1)
            y += rng.uniform(-1, 1)
        mouse.move(x, y)
        counts.moves += 1
        ticks += 1
        pause = base + ticks * TICK_S - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            counts.late_ticks += 1
            if pause < -0.1:  # far behind (a busy machine): restart the schedule, never burst
                base, ticks = time.monotonic(), 0
    counts.seconds = time.monotonic() - start
    return counts
