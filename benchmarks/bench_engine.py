"""Engine throughput on CPython: events per second for a realistic input mix.

The mix is 60 % pointermove, 20 % scroll, 15 % keys (keydown + input), 5 %
other (clicks, pointer enter/leave, focus/blur), at about 1,000 events a second
of page time, through configs of 1, 10 and 100 triggers built from the six
example use cases.  It measures ``Engine.feed`` on parsed events (the engine),
and ``Engine.feed_json`` on trace objects (parsing + engine, what the worker
does), best of several rounds.  Prints a markdown section.

Run: .venv/bin/python benchmarks/bench_engine.py
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

from pytrigger.config import load_config
from pytrigger.engine import Engine
from pytrigger.events import Event, parse_event

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EVENTS = 30_000
ROUNDS = 3


def trigger_pool() -> list[dict[str, Any]]:
    pool = []
    for config in sorted(EXAMPLES.glob("*/config.json")):
        pool.extend(json.loads(config.read_text())["triggers"])
    return pool


def config_of(n: int) -> dict[str, Any]:
    pool = trigger_pool()
    triggers = []
    for i in range(n):
        trigger = dict(pool[i % len(pool)])
        trigger["id"] = f"{trigger['id']}-{i}"
        triggers.append(trigger)
    return {"version": 1, "triggers": triggers}


def trace(trigger_ids: list[str], seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    t, y, x, py = 0.0, 0.0, 400.0, 300.0
    out: list[dict[str, Any]] = [
        {"t": 0.0, "type": "context", "pointer": "mouse", "viewport_w": 1280},
        {"t": 0.0, "type": "scroll", "scroll_y": 0, "viewport_h": 800, "doc_h": 20000},
    ]
    while len(out) < EVENTS:
        t += rng.uniform(0.2, 1.8)
        roll = rng.random()
        some = [rng.choice(trigger_ids)] if trigger_ids and rng.random() < 0.5 else []
        if roll < 0.60:
            x += rng.uniform(-5, 5)
            py += rng.uniform(-5, 5)
            out.append({"t": t, "type": "pointermove", "x": x, "y": py, "targets": some})
        elif roll < 0.80:
            y += rng.uniform(0, 40)
            out.append({"t": t, "type": "scroll", "scroll_y": y, "viewport_h": 800, "doc_h": 20000})
        elif roll < 0.95:
            out.append({"t": t, "type": "keydown", "key": "char", "targets": some})
            out.append({"t": t + 0.1, "type": "input", "targets": some})
            t += 0.1
        else:
            kind = rng.choice(["click", "pointerenter", "pointerleave", "focus", "blur"])
            out.append({"t": t, "type": kind, "x": x, "y": py, "targets": some})
    return out


def measure(n: int) -> tuple[float, float, int]:
    config = load_config(config_of(n))
    ids = [trigger.id for trigger in config.triggers]
    objects = trace(ids)
    events: list[Event] = [parse_event(obj) for obj in objects]
    best_feed = best_json = float("inf")
    decisions = 0
    for _ in range(ROUNDS):
        engine = Engine(config)
        start = time.perf_counter()
        feed = engine.feed
        for event in events:
            decisions += len(feed(event))
        best_feed = min(best_feed, time.perf_counter() - start)
        engine = Engine(config)
        start = time.perf_counter()
        feed_json = engine.feed_json
        for obj in objects:
            feed_json(obj)
        best_json = min(best_json, time.perf_counter() - start)
    return len(events) / best_feed, len(events) / best_json, decisions // ROUNDS


def main() -> None:
    print("## Engine throughput (CPython)\n")
    print("Command: `.venv/bin/python benchmarks/bench_engine.py`\n")
    print(
        f"{EVENTS:,} events (60 % pointermove, 20 % scroll, 15 % keys, 5 % other), "
        f"best of {ROUNDS} rounds. `feed` takes parsed events; `feed_json` parses "
        "trace objects too, as the worker does.\n"
    )
    print("| triggers | feed: events/s | µs/event | feed_json: events/s | µs/event | decisions |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in (1, 10, 100):
        feed, feed_json, decisions = measure(n)
        print(
            f"| {n} | {feed:,.0f} | {1e6 / feed:.2f} | {feed_json:,.0f} | "
            f"{1e6 / feed_json:.2f} | {decisions} |"
        )
    print(
        "\nTarget: at least 250,000 events/s (4 µs an event) with 10 triggers. Triggers are "
        "indexed by the event types that can change what they read, so cost grows with the "
        "triggers an event can affect, not with all of them."
    )


if __name__ == "__main__":
    main()
