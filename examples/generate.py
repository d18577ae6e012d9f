"""Writes the example traces of examples/*/ (run: python examples/generate.py).

Each example folder holds ``config.json`` and traces in trace format v1:
``trace-fires.jsonl`` (the trigger acts) and ``trace-quiet.jsonl`` (it must
not), sometimes more.  ``expected-*.jsonl`` files hold what ``pytrigger
simulate`` prints for each trace; the test suite checks both against the engine
(on CPython, and in Chromium on Pyodide), so they are conformance vectors too.
The traces are written by this script so that each stays readable as a story.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
Event = dict[str, Any]


def start(doc_h: float = 8000.0) -> list[Event]:
    """What the shim sends at page start: device context and a scroll sample."""
    return [
        {"t": 0.0, "type": "context", "pointer": "mouse", "viewport_w": 1280},
        {"t": 0.0, "type": "scroll", "scroll_y": 0, "viewport_h": 800, "doc_h": doc_h},
    ]


def moves(t0: float, t1: float, every: float = 50.0, x: float = 400.0, y: float = 300.0,
          targets: list[str] | None = None) -> Iterator[Event]:  # fmt: skip
    t = t0
    while t <= t1:
        event: Event = {"t": t, "type": "pointermove", "x": x, "y": y}
        if targets:
            event["targets"] = targets
        yield event
        t += every
        x += 3


def keys(times: list[float], trigger: str) -> Iterator[Event]:
    for t in times:
        yield {"t": t, "type": "keydown", "targets": [trigger], "key": "char"}
        yield {"t": t + 4, "type": "input", "targets": [trigger]}


def scrolls(t0: float, steps: int, step_px: float, y0: float, every: float = 16.0
            ) -> Iterator[Event]:  # fmt: skip
    for i in range(steps):
        yield {"t": round(t0 + i * every, 3), "type": "scroll", "scroll_y": y0 + (i + 1) * step_px,
               "viewport_h": 800, "doc_h": 20000}  # fmt: skip


def search_hesitation() -> dict[str, list[Event]]:
    focus = {"t": 1000.0, "type": "focus", "targets": ["quick-search"]}
    # focus, a key at 1.5 s, a 3 s pause, a key at 4.5 s, then nothing: the running
    # gap reaches 2.5 s at 7.0 s (2 pauses), the hold ends at 7.5 s: gate; a pointer
    # move at 8.2 s confirms it: fire.
    fires = [*start(), *moves(100, 900), focus, *keys([1500.0, 4500.0], "quick-search"),
             {"t": 8200.0, "type": "pointermove", "x": 500, "y": 300}]  # fmt: skip
    # the same, but the visitor stays still: the gate expires 3 s after it opened
    expires = [*start(), *moves(100, 900), focus, *keys([1500.0, 4500.0], "quick-search"),
               {"t": 11000.0, "type": "blur", "targets": ["quick-search"]}]  # fmt: skip
    # steady typing, never a pause of 2.5 s
    quiet = [*start(), *moves(100, 900), focus,
             *keys([1500.0 + 400 * i for i in range(20)], "quick-search"),
             {"t": 9700.0, "type": "blur", "targets": ["quick-search"]}]  # fmt: skip
    return {"fires": fires, "expires": expires, "quiet": quiet}


def product_dwell() -> dict[str, list[Event]]:
    card = ["recommend"]
    enter = {"t": 1000.0, "type": "pointerenter", "targets": card, "x": 200, "y": 300}
    leave = {"t": 1700.0, "type": "pointerleave", "targets": card, "x": 260, "y": 300}
    fires = [*start(), *moves(100, 950), enter, *moves(1000, 1650, targets=card), leave]
    quiet = [*start(), *moves(100, 950), enter, *moves(1000, 1350, targets=card),
             {"t": 1400.0, "type": "pointerleave", "targets": card, "x": 260, "y": 300},
             *moves(1450, 3000)]  # fmt: skip
    return {"fires": fires, "quiet": quiet}


def article_velocity() -> dict[str, list[Event]]:
    # reading pace: 8 px a frame; then a skim at 20 px a frame (2.5x the baseline)
    steady = list(scrolls(1000.0, 120, 8.0, 0.0))
    y = steady[-1]["scroll_y"]
    skim = list(scrolls(3500.0, 40, 20.0, y))
    fires = [*start(20000), *steady, *skim]
    quiet = [*start(20000), *steady, *scrolls(3500.0, 40, 9.0, y)]
    return {"fires": fires, "quiet": quiet}


def keystroke_burst() -> dict[str, list[Event]]:
    focus = {"t": 900.0, "type": "focus", "targets": ["autocomplete-hint"]}
    fires = [*start(), focus, *keys([1000.0, 1300.0, 1600.0, 1900.0], "autocomplete-hint")]
    quiet = [*start(), focus, *keys([1000.0, 1700.0, 2400.0, 3100.0, 3800.0], "autocomplete-hint")]
    return {"fires": fires, "quiet": quiet}


def rage_click() -> dict[str, list[Event]]:
    def click(t: float, x: float) -> Event:
        return {"t": t, "type": "click", "targets": ["rage-help"], "x": x, "y": 500}

    fires = [*start(), *moves(100, 900), click(1000, 300), click(1250, 304), click(1500, 301)]
    quiet = [*start(), *moves(100, 900), click(1000, 300), click(2100, 300), click(3200, 300),
             click(3400, 380)]  # fmt: skip
    return {"fires": fires, "quiet": quiet}


def exit_intent() -> dict[str, list[Event]]:
    def path(t0: float, y_end: float) -> list[Event]:
        events = list(moves(100, t0 - 100, y=400))
        events.append({"t": t0, "type": "leave", "x": 600, "y": y_end})
        return events

    fires = path(6000.0, 2.0)
    quiet = [*path(6000.0, 420.0), *moves(6500, 7000)]
    early = path(1500.0, 1.0)  # leaves through the top, but before 3 s on the page
    return {"fires": [*start(), *fires], "quiet": [*start(), *quiet], "early": [*start(), *early]}


EXAMPLES = {
    "search-hesitation": search_hesitation,
    "product-dwell": product_dwell,
    "article-velocity": article_velocity,
    "keystroke-burst": keystroke_burst,
    "rage-click": rage_click,
    "exit-intent": exit_intent,
}


def expected(config_path: Path, trace_path: Path) -> str:
    """What the engine decides on a trace, as ``pytrigger simulate`` prints it."""
    from pytrigger.engine import Engine
    from pytrigger.simulate import read_config, replay

    engine = Engine(read_config(str(config_path)))
    with trace_path.open() as lines:
        return "".join(json.dumps(d.to_json()) + "\n" for d in replay(engine, lines, "", None))  # type: ignore[arg-type]


def main() -> None:
    for name, make in EXAMPLES.items():
        folder = HERE / name
        for trace, events in make().items():
            lines = [json.dumps(event, separators=(",", ":")) for event in events]
            trace_path = folder / f"trace-{trace}.jsonl"
            trace_path.write_text("\n".join(lines) + "\n")
            (folder / f"expected-{trace}.jsonl").write_text(
                expected(folder / "config.json", trace_path)
            )


if __name__ == "__main__":
    main()
