"""The seed's use cases under examples/: each config is valid, each `fires`
trace acts and each `quiet` trace does not, and the engine's decisions match the
pinned ``expected-*.jsonl`` vectors (which the browser suite also checks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytrigger.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TRACES = sorted(EXAMPLES.glob("*/trace-*.jsonl"))


def test_there_are_six_use_cases_with_traces() -> None:
    folders = {trace.parent.name for trace in TRACES}
    assert len(folders) == 6
    for folder in folders:
        names = {trace.stem for trace in (EXAMPLES / folder).glob("trace-*.jsonl")}
        assert {"trace-fires", "trace-quiet"} <= names


@pytest.mark.parametrize(
    "config", sorted(EXAMPLES.glob("*/config.json")), ids=lambda p: p.parent.name
)
def test_example_configs_are_valid(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(config)]) == 0
    assert "valid" in capsys.readouterr().out


@pytest.mark.parametrize("trace", TRACES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_simulate_matches_pinned_decisions(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = trace.parent / "config.json"
    assert main(["simulate", "--config", str(config), str(trace)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    expected = (trace.parent / trace.name.replace("trace-", "expected-")).read_text()
    assert captured.out == expected
    decisions = [json.loads(line) for line in captured.out.splitlines()]
    fired = [d for d in decisions if d["decision"] == "fire"]
    if trace.stem == "trace-fires":
        assert fired, "a fires trace must fire"
    elif trace.stem in ("trace-quiet", "trace-early"):
        assert not fired, "a quiet trace must not fire"
