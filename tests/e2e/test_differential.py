"""Differential: every example trace decides the same in Pyodide (in Chromium)
as `pytrigger simulate` on CPython.

Each `examples/*/trace-*.jsonl` is replayed with its folder's `config.json`
twice inside Pyodide — through the engine the way `simulate` feeds it, and
through the shim's protocol (`pytrigger.protocol.Session`, the boot's events
replayed in one batch) — and both must print exactly what
`python -m pytrigger simulate --config C T` prints.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from e2ekit import ROOT, Site

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

TRACES = sorted((ROOT / "examples").glob("*/trace-*.jsonl"))

IN_PYODIDE = r"""
import json

from pytrigger.config import load_config
from pytrigger.engine import Engine
from pytrigger.errors import EventError
from pytrigger.events import parse_event
from pytrigger.protocol import Session


def by_engine(config, trace):
    # as `pytrigger simulate`: feed each valid line, skip malformed ones
    engine = Engine(load_config(config))
    out = []
    for line in trace.splitlines():
        if not line.strip():
            continue
        try:
            out.extend(engine.feed(parse_event(json.loads(line))))
        except (EventError, ValueError):
            pass
    return [d.to_json() for d in out]


def by_protocol(config, trace):
    events, last = [], None
    for line in trace.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue  # the shim only ever sends JSON
        events.append(obj)
        try:
            t = parse_event(obj).t
        except EventError:
            continue
        if last is None or t >= last:
            last = t
    session = Session()
    (ready,) = session.handle({"type": "init", "now": 0.0, "config": config})
    assert ready["type"] == "ready", ready
    out = session.handle(
        {"type": "events", "replay": True, "now": last or 0.0, "events": events}
    )
    lines = []
    for message in out:
        for d in message.get("decisions", []):
            line = {"t": d["t"], "trigger": d["trigger"], "decision": d["kind"]}
            for key in ("reason", "variant", "segment"):
                if d[key] is not None:
                    line[key] = d[key]
            lines.append(line)
    return lines


cases = json.loads(cases_json)
json.dumps({
    name: {"engine": by_engine(c["config"], c["trace"]),
           "protocol": by_protocol(c["config"], c["trace"])}
    for name, c in cases.items()
})
"""

RUN = """async ([cases, code]) => {
  const worker = new URL('/pytrigger/worker.js', location.href).href;
  const pyodide = await (await import(worker)).boot(worker);
  pyodide.globals.set('cases_json', JSON.stringify(cases));
  return JSON.parse(pyodide.runPython(code));
}"""


def simulate(config: Path, trace: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, "-m", "pytrigger", "simulate", "--config", str(config), str(trace)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_there_are_example_traces() -> None:
    assert len(TRACES) >= 6, f"expected the examples' traces under examples/, found {TRACES}"


def test_every_example_trace_decides_the_same_in_pyodide(site: Site) -> None:
    cases = {
        f"{trace.parent.name}/{trace.name}": {
            "config": json.loads((trace.parent / "config.json").read_text()),
            "trace": trace.read_text(),
        }
        for trace in TRACES
    }
    expected = {
        f"{trace.parent.name}/{trace.name}": simulate(trace.parent / "config.json", trace)
        for trace in TRACES
    }
    site.serve("/t/blank.html", "<!doctype html><title>differential</title>")
    site.goto("/t/blank.html")
    results = site.evaluate(RUN, [cases, IN_PYODIDE])
    assert set(results) == set(expected)
    for name, want in expected.items():
        assert results[name]["engine"] == want, f"{name}: engine in Pyodide differs"
        assert results[name]["protocol"] == want, f"{name}: protocol in Pyodide differs"
    # the comparison means something: every "fires" trace decides something
    fires = [name for name in expected if "/trace-fires" in name]
    assert fires and all(expected[name] for name in fires)
