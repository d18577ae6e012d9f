"""`pytrigger check` and `pytrigger simulate` as DESIGN.md §5 describes them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytrigger.cli import main

DWELL = {
    "version": 1,
    "triggers": [{"id": "card", "target": ".card", "when": {"signal": "dwell_ms", "gte": 500}}],
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(DWELL))
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_check_valid(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(config_file)], capsys)
    assert code == 0
    assert out.strip() == f"{config_file}: valid (1 triggers)"


def test_check_lists_every_problem_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {
        "version": 1,
        "triggers": [
            {
                "id": "a",
                "when": {
                    "all": [{"signal": "idle_ms", "gte": 1}, {"signal": "idle_ms", "gte": "x"}]
                },
            },
            {"id": "a", "when": {"signal": "idle_ms", "gte": 1}, "hold_ms": -5},
        ],
    }  # fmt: skip
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    code, out, _ = run(["check", str(path)], capsys)
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0] == "triggers[0].when.all[1].gte: expected a number"
    assert any(line.startswith("triggers[1].id:") for line in lines)
    assert any(line.startswith("triggers[1].hold_ms:") for line in lines)


def test_check_unreadable_and_not_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(tmp_path / "missing.json")], capsys)
    assert code == 1 and "cannot read" in out
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1,')
    code, out, _ = run(["check", str(broken)], capsys)
    assert code == 1 and "invalid JSON at line 1" in out


def test_simulate_prints_one_object_per_decision(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        '{"t": 100, "type": "pointerenter", "targets": ["card"]}\n'
        '{"t": 2000, "type": "pointermove", "x": 1, "y": 2}\n'
    )
    code, out, err = run(["simulate", "--config", str(config_file), str(trace)], capsys)
    assert (code, err) == (0, "")
    assert [json.loads(line) for line in out.splitlines()] == [
        {"t": 600.0, "trigger": "card", "decision": "fire"}
    ]


def test_simulate_honours_deadlines_only_up_to_the_last_event(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text('{"t": 100, "type": "pointerenter", "targets": ["card"]}\n')
    code, out, _ = run(["simulate", "--config", str(config_file), str(trace)], capsys)
    assert (code, out) == (0, "")


def test_simulate_reports_and_skips_malformed_lines(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        "\n".join(
            [
                '{"t": 100, "type": "pointerenter", "targets": ["card"]}',
                "not json",
                '{"t": 200, "type": "teleport"}',
                '{"t": 50, "type": "pointermove", "x": 1, "y": 1}',
                '{"t": 300, "type": "click", "targets": ["card"]}',
                "",
                '{"t": 900, "type": "pointermove", "x": 1, "y": 1}',
            ]
        )
        + "\n"
    )
    code, out, err = run(["simulate", "--config", str(config_file), str(trace)], capsys)
    assert code == 0
    assert [json.loads(line)["t"] for line in out.splitlines()] == [600.0]
    errors = err.strip().splitlines()
    assert errors[0].startswith(f"{trace}:2: invalid JSON")
    assert errors[1] == f"{trace}:3: type: unknown event type 'teleport'"
    assert errors[2] == f"{trace}:4: t: goes backwards (50.0 after 100.0)"
    assert errors[3] == f"{trace}:5: x: missing (required for click)"
    assert len(errors) == 4


def test_simulate_invalid_config_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"version": 2, "triggers": []}')
    trace = tmp_path / "t.jsonl"
    trace.write_text("")
    code, _, err = run(["simulate", "--config", str(path), str(trace)], capsys)
    assert code == 1 and "version" in err


def test_simulate_reads_stdin(config_file: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytrigger", "simulate", "--config", str(config_file), "-"],
        input=(
            '{"t": 0, "type": "pointerenter", "targets": ["card"]}\n'
            '{"t": 700, "type": "scroll", "scroll_y": 1, "viewport_h": 1, "doc_h": 2}\n'
        ),
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    assert json.loads(result.stdout) == {"t": 500.0, "trigger": "card", "decision": "fire"}


def test_simulate_bad_state_file(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    state.write_text("[1, 2]")
    trace = tmp_path / "t.jsonl"
    trace.write_text("")
    code, _, err = run(
        ["simulate", "--config", str(config_file), "--state", str(state), str(trace)], capsys
    )
    assert code == 1 and "must be a JSON object" in err


def test_simulate_unit_id_replays_the_assigned_arm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "version": 1,
        "triggers": [
            {
                "id": "card",
                "target": ".card",
                "when": {"signal": "dwell_ms", "gte": 3000},
                "experiment": {
                    "key": "search-prompt",
                    "arms": [
                        {"name": "A"},
                        {"name": "B", "override": {"when": {"signal": "dwell_ms", "gte": 500}}},
                    ],
                },
            }
        ],
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    trace = tmp_path / "trace.jsonl"
    trace.write_text(
        '{"t": 100, "type": "pointerenter", "targets": ["card"]}\n'
        '{"t": 5000, "type": "pointermove", "x": 1, "y": 1}\n'
    )
    results = {}
    # docs/experiments.md: visitor-42 hashes to 0.3303 (arm A), visitor-2 to 0.7101 (arm B)
    for unit in ("visitor-42", "visitor-2", None):
        argv = ["simulate", "--config", str(path), str(trace)]
        if unit is not None:
            argv += ["--unit-id", unit]
        code, out, _ = run(argv, capsys)
        assert code == 0
        results[unit] = json.loads(out)
    assert results["visitor-42"] == {
        "t": 3100.0,
        "trigger": "card",
        "decision": "fire",
        "variant": "A",
    }
    assert results["visitor-2"] == {
        "t": 600.0,
        "trigger": "card",
        "decision": "fire",
        "variant": "B",
    }
    assert results[None] == {"t": 3100.0, "trigger": "card", "decision": "fire"}
