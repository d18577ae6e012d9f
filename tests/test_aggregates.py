"""The per-session report (pytrigger.aggregates): counting, both privacy
modes, what an ldp report can and cannot reveal, and check_report against the
JSON Schema."""

from __future__ import annotations

import copy
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytrigger.aggregates import (
    COUNT_FIELDS,
    LATENCY_BUCKETS,
    MAX_ENTRIES,
    MAX_REPORT_BYTES,
    MAX_SEQ,
    SUPPRESS_REASONS,
    AggregateBuilder,
    check_report,
    latency_bucket,
    report_entries,
    segment_names,
)
from pytrigger.config import load_config
from pytrigger.decisions import Decision
from pytrigger.privacy import debias, keep_probability
from pytrigger.triggers import Privacy

LN3 = math.log(3)
HOUR_MS = 3_600_000
NOW = 480_000 * HOUR_MS + 1234.5
TRIGGERS: list[tuple[str, list[str | None]]] = [("help", ["A", "B"]), ("exit", [None])]
SEGMENTS = ["frustrated", "new", "power"]
SCHEMA = Path(__file__).resolve().parents[1] / "pytrigger" / "collector" / "report.schema.json"


def builder(mode: str = "unlinkable", epsilon: float = LN3) -> AggregateBuilder:
    privacy = Privacy("ldp", epsilon) if mode == "ldp" else Privacy()
    return AggregateBuilder("demo", privacy, TRIGGERS, SEGMENTS)


def entry(report: dict[str, Any], trigger: str, arm: str | None) -> dict[str, Any]:
    (found,) = [e for e in report["triggers"] if (e["trigger"], e["arm"]) == (trigger, arm)]
    return found


# -- counting (unlinkable) ----------------------------------------------------


def test_latency_buckets() -> None:
    assert [latency_bucket(ms) for ms in (0, 0.99, 1, 1.5, 2, 1023.9, 1024, 4095, 4096)] == [
        0, 0, 1, 1, 2, 10, 11, 12, 13,
    ]  # fmt: skip
    assert LATENCY_BUCKETS == 14


def test_unlinkable_counts() -> None:
    b = builder()
    b.set_segment("new")
    b.exposure("help", "A")
    b.decision(Decision(1.0, "help", "gate", variant="A"))
    b.decision(Decision(2.0, "help", "fire", variant="A"))
    b.decision(Decision(3.0, "help", "suppressed", reason="cooldown", variant="A"))
    b.decision(Decision(4.0, "help", "suppressed", reason="hidden", variant="A"))
    b.decision(Decision(5.0, "help", "expire", variant="A"))
    b.latency("help", "A", 3.0, replayed=False)
    b.latency("help", "A", 3000.0, replayed=True)  # left out
    b.latency("help", "A", math.nan, replayed=False)  # left out
    b.dismiss("help")
    report = b.build(NOW, random.Random(1))
    assert report["schema"] == 1 and report["site"] == "demo" and report["hour"] == 480_000
    assert report["privacy"] == {"mode": "unlinkable"} and report["segment"] == "new"
    assert len(report["triggers"]) == 1  # only the active pair is listed
    help_a = entry(report, "help", "A")
    assert {k: help_a[k] for k in COUNT_FIELDS} == {
        "exposure": 1, "gate": 1, "fire": 1, "expire": 1, "dismiss": 1, "goal": 0,
    }  # fmt: skip
    assert help_a["suppressed"] == dict.fromkeys(SUPPRESS_REASONS, 0) | {"cooldown": 1, "hidden": 1}
    assert help_a["latency"] == [0, 0, 1] + [0] * 11
    assert check_report(report) == []
    assert set(report) == {
        "schema", "site", "report_id", "seq", "hour", "privacy", "segment", "triggers",
    }  # fmt: skip


def test_a_goal_counts_for_every_trigger_that_fired_earlier_under_its_arm() -> None:
    b = builder()
    b.goal("early")  # nothing fired yet: counts nowhere
    b.exposure("help", "B")
    b.decision(Decision(1.0, "help", "fire", variant="B"))
    b.goal("signup")
    b.exposure("exit", None)
    b.decision(Decision(2.0, "exit", "gate"))  # a gate is not a fire
    b.goal("signup")
    b.decision(Decision(3.0, "exit", "fire"))
    b.goal("purchase")
    report = b.build(NOW, random.Random(1))
    assert entry(report, "help", "B")["goal"] == 3
    assert entry(report, "exit", None)["goal"] == 1
    assert "signup" not in json.dumps(report)  # goal names are never sent


def test_counts_are_clipped_and_unknown_names_ignored() -> None:
    b = builder()
    for _ in range(1500):
        b.decision(Decision(1.0, "help", "fire", variant="A"))
        b.latency("help", "A", 10.0, replayed=False)
    b.exposure("nope", None)
    b.exposure("help", "C")
    b.decision(Decision(1.0, "help", "suppressed", reason="bogus", variant="A"))
    b.set_segment("vip")
    report = b.build(NOW, random.Random(1))
    help_a = entry(report, "help", "A")
    assert help_a["fire"] == 1000 and help_a["latency"][latency_bucket(10.0)] == 1000
    assert b.ignored == 4 and report["segment"] is None and len(report["triggers"]) == 1


def test_report_id_is_random_128_bits_drawn_once() -> None:
    b = builder()
    first = b.build(NOW, random.Random(42))
    b.exposure("help", "A")
    again = b.build(NOW + HOUR_MS, random.Random(7))
    assert first["report_id"] == again["report_id"]
    assert len(first["report_id"]) == 32 and int(first["report_id"], 16) >= 0
    assert builder().build(NOW, random.Random(42))["report_id"] == first["report_id"]
    assert builder().build(NOW, random.Random(43))["report_id"] != first["report_id"]
    assert again["hour"] == first["hour"] + 1


def test_seq_numbers_the_snapshots_of_a_session() -> None:
    b = builder("ldp")
    first = b.build(NOW, random.Random(1))
    assert first["seq"] == 0  # the default
    later = b.build(NOW, random.Random(2), seq=3)
    assert later["seq"] == 3 and later["report_id"] == first["report_id"]
    assert {**later, "seq": 0} == first  # seq changes nothing else
    assert check_report(b.build(NOW, random.Random(3), seq=MAX_SEQ)) == []
    for bad in (-1, MAX_SEQ + 1, 1.0, True, "1"):
        with pytest.raises(ValueError, match="seq"):
            b.build(NOW, random.Random(4), seq=bad)  # type: ignore[arg-type]


def test_constructor_rejects_what_a_report_cannot_hold() -> None:
    with pytest.raises(ValueError):
        AggregateBuilder("demo site", Privacy(), TRIGGERS)
    with pytest.raises(ValueError):
        AggregateBuilder("demo", Privacy(), [("Help", [None])])
    with pytest.raises(ValueError):
        AggregateBuilder("demo", Privacy(), [("help", ["A b"])])
    with pytest.raises(ValueError):
        AggregateBuilder("demo", Privacy(), [(f"t{i}", [None]) for i in range(MAX_ENTRIES + 1)])
    with pytest.raises(ValueError):
        AggregateBuilder("demo", Privacy(), TRIGGERS, ["new", "new"])
    with pytest.raises(ValueError):
        AggregateBuilder("demo", Privacy("ldp", 0.001), TRIGGERS)


def test_report_entries_of_a_config() -> None:
    config = load_config(
        {
            "version": 1,
            "triggers": [
                {"id": "plain", "when": {"signal": "idle_ms", "gte": 1000}},
                {
                    "id": "ab", "when": {"signal": "idle_ms", "gte": 1000},
                    "experiment": {"key": "k", "coverage": 0.5,
                                   "arms": [{"name": "A"}, {"name": "B"}]},
                },
            ],
        }
    )  # fmt: skip
    assert report_entries(config) == [("plain", [None]), ("ab", ["A", "B", None])]
    assert segment_names(config) == ["frustrated", "new", "power"]


# -- ldp ----------------------------------------------------------------------


def _skeleton(value: Any) -> Any:
    """The report with every randomized bit blanked out."""
    if isinstance(value, dict):
        return {k: _skeleton(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_skeleton(v) for v in value]
    return "bit" if value in (0, 1) and not isinstance(value, float) else value


def _random_session(b: AggregateBuilder, rng: random.Random) -> None:
    b.set_segment(rng.choice([None, *SEGMENTS]))
    for trigger, arms in TRIGGERS:
        arm = rng.choice(arms)
        if rng.random() < 0.5:
            b.exposure(trigger, arm)
            for _ in range(rng.randrange(4)):
                kind = rng.choice(["gate", "fire", "expire", "suppressed"])
                reason = rng.choice(SUPPRESS_REASONS) if kind == "suppressed" else None
                b.decision(Decision(1.0, trigger, kind, reason=reason, variant=arm))  # type: ignore[arg-type]
                b.latency(trigger, arm, rng.expovariate(1 / 100), replayed=rng.random() < 0.2)
            if rng.random() < 0.3:
                b.dismiss(trigger)
    if rng.random() < 0.3:
        b.goal("x")


def test_ldp_report_shape() -> None:
    b = builder("ldp")
    report = b.build(NOW, random.Random(3))
    assert report["privacy"] == {"mode": "ldp", "epsilon": LN3, "report_epsilon": b.report_epsilon}
    # per entry: 13 independent bits + a one-hot latency block (2 eps); plus the segment block
    assert b.report_epsilon == pytest.approx(LN3 * (15 * 3 + 2))
    assert [(e["trigger"], e["arm"]) for e in report["triggers"]] == [
        ("help", "A"), ("help", "B"), ("exit", None)
    ]  # fmt: skip
    assert sorted(report["segment"]) == sorted(SEGMENTS)
    assert check_report(report) == []


def test_ldp_clear_fields_reveal_nothing() -> None:
    """Whatever happened in a session, an ldp report's fields other than its
    randomized bits are the same: same keys, same entries in the same order,
    same segment names, same privacy block.  And the randomness a report
    consumes does not depend on the session either."""
    skeletons = set()
    next_draws = set()
    for seed in range(200):
        b = builder("ldp")
        _random_session(b, random.Random(seed))
        rng = random.Random(12345)
        report = b.build(NOW, rng)
        next_draws.add(rng.random())
        report.pop("report_id")
        skeletons.add(json.dumps(_skeleton(report), sort_keys=True))
    assert len(skeletons) == 1
    assert len(next_draws) == 1


def test_ldp_randomization_is_kept_across_snapshots() -> None:
    b = builder("ldp")
    b.exposure("help", "A")
    first = b.build(NOW, random.Random(8))
    assert b.build(NOW, random.Random(9)) == first  # nothing changed: same bits
    b.decision(Decision(1.0, "help", "fire", variant="A"))
    later = b.build(NOW, random.Random(10))
    changed = [
        k for k in COUNT_FIELDS if entry(later, "help", "A")[k] != entry(first, "help", "A")[k]
    ]
    assert set(changed) <= {"fire"}  # only the bit whose truth changed may differ


def test_ldp_debiased_figures_over_100000_sessions() -> None:
    """100,000 simulated sessions with known probabilities; every debiased
    figure of every (trigger, arm) and segment is compared with the truth.

    Coverage is checked as a rate, which is what a 95 % interval promises:
    over the 84 figures, at least 90 % of intervals hold the truth (95 %
    expected), and every estimate is within 4.5 standard errors of it (a
    miss beyond that has probability below 1e-5 per figure)."""
    rng = random.Random(2024)
    n = 100_000
    p_exposed, p_fire, p_gate, p_cooldown, p_goal = 0.6, 0.4, 0.3, 0.2, 0.5
    truths: dict[str, float] = {}
    for arm, weight in (("A", 0.5), ("B", 0.5)):
        exposed = weight * p_exposed
        truths |= {f"help/{arm}/exposure": exposed, f"help/{arm}/fire": exposed * p_fire,
                   f"help/{arm}/gate": exposed * p_gate, f"help/{arm}/expire": 0.0,
                   f"help/{arm}/dismiss": 0.0, f"help/{arm}/goal": exposed * p_fire * p_goal,
                   f"help/{arm}/suppressed.cooldown": exposed * p_cooldown}  # fmt: skip
        for reason in SUPPRESS_REASONS[1:]:
            truths[f"help/{arm}/suppressed.{reason}"] = 0.0
        for bucket in range(LATENCY_BUCKETS):
            # one latency sample per fire, uniform over buckets 3..6
            truths[f"help/{arm}/latency.{bucket}"] = exposed * p_fire / 4 if 3 <= bucket <= 6 else 0
    truths |= dict.fromkeys((f"exit/None/{name}" for name in COUNT_FIELDS), 0.0)
    truths |= dict.fromkeys((f"exit/None/suppressed.{r}" for r in SUPPRESS_REASONS), 0.0)
    truths |= dict.fromkeys((f"exit/None/latency.{i}" for i in range(LATENCY_BUCKETS)), 0.0)
    segment_weights = {"frustrated": 0.1, "new": 0.3, "power": 0.2}  # None: 0.4
    truths |= {f"segment/{name}": w for name, w in segment_weights.items()}

    ones: dict[str, int] = dict.fromkeys(truths, 0)
    for _ in range(n):
        b = builder("ldp")
        draw = rng.random()
        b.set_segment(
            "frustrated" if draw < 0.1 else "new" if draw < 0.4 else "power" if draw < 0.6 else None
        )
        arm = "A" if rng.random() < 0.5 else "B"
        if rng.random() < p_exposed:
            b.exposure("help", arm)
            if rng.random() < p_gate:
                b.decision(Decision(1.0, "help", "gate", variant=arm))
            if rng.random() < p_cooldown:
                b.decision(Decision(1.0, "help", "suppressed", reason="cooldown", variant=arm))
            if rng.random() < p_fire:
                b.decision(Decision(1.0, "help", "fire", variant=arm))
                b.latency("help", arm, 2 ** rng.randrange(2, 6) * 1.5, replayed=False)
                if rng.random() < p_goal:
                    b.goal("done")
        report = b.build(NOW, rng)
        for e in report["triggers"]:
            prefix = f"{e['trigger']}/{e['arm']}/"
            for name in COUNT_FIELDS:
                if prefix + name in ones:
                    ones[prefix + name] += e[name]
            for reason, bit in e["suppressed"].items():
                if prefix + f"suppressed.{reason}" in ones:
                    ones[prefix + f"suppressed.{reason}"] += bit
            for bucket, bit in enumerate(e["latency"]):
                if prefix + f"latency.{bucket}" in ones:
                    ones[prefix + f"latency.{bucket}"] += bit
        for name, bit in report["segment"].items():
            ones[f"segment/{name}"] += bit

    covered = 0
    for key, truth in truths.items():
        est = debias(ones[key], n, LN3)
        assert abs(est.estimate - truth) < 4.5 * math.sqrt(est.variance), (key, est, truth)
        covered += est.low <= truth <= est.high
    assert len(truths) == 84
    assert covered / len(truths) >= 0.90, covered


# -- check_report and the JSON Schema ------------------------------------------


def _good_reports() -> list[dict[str, Any]]:
    out = []
    for seed in range(6):
        for mode in ("unlinkable", "ldp"):
            b = builder(mode)
            _random_session(b, random.Random(seed))
            out.append(b.build(NOW, random.Random(seed), seq=seed * 7))
    return out


_WEIRD: list[Any] = [None, True, False, -1, 0, 1, 1.0, 1.5, 2, 1000, 1001, "", "x", "A", "new",
                     "a" * 65, [], [0] * 14, {}, {"mode": "ldp"}, 1e300, 10**400]  # fmt: skip


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    if not path:
        return value
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


def _delete(doc: Any, path: tuple[Any, ...]) -> Any:
    doc = copy.deepcopy(doc)
    target = doc
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return doc


def _corpus() -> list[Any]:
    corpus: list[Any] = []
    goods = _good_reports()
    for good in (goods[6], goods[1], goods[10]):  # 2 entries, ldp, no entries
        corpus.append(good)
        for path in _paths(good):
            corpus.extend(_replace(good, path, weird) for weird in _WEIRD)
            if path and isinstance(path[-1], str):
                corpus.append(_delete(good, path))
                corpus.append(_replace(good, (*path[:-1], "extra"), 0))
    ldp = _good_reports()[1]
    corpus.append(_replace(ldp, ("triggers",), ldp["triggers"] * 43))  # 129 entries
    corpus.append(_replace(ldp, ("triggers",), ldp["triggers"][:1] * 2))  # a duplicate
    corpus.append(_replace(ldp, ("segment",), {f"s{i}": 0 for i in range(33)}))
    corpus.append(_replace(ldp, ("privacy", "epsilon"), 0.01))
    corpus.append(_replace(ldp, ("privacy", "epsilon"), 0.0099))
    corpus.append(_replace(ldp, ("privacy", "epsilon"), 10))
    for seq in (0, 1, MAX_SEQ, MAX_SEQ + 1, -1, 2.0, 2.5, "1", True, None, 10**20):
        corpus.append(_replace(ldp, ("seq",), seq))
    corpus.append(_delete(ldp, ("seq",)))
    return corpus


def test_check_report_agrees_with_the_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    corpus = _corpus()
    assert len(corpus) > 2000
    verdicts = {"valid": 0, "invalid": 0}
    for doc in corpus:
        text = json.dumps(doc)
        doc = json.loads(text)  # only what JSON can carry
        problems = check_report(doc)
        schema_valid = validator.is_valid(doc)
        duplicate = any("duplicate (trigger, arm)" in p for p in problems)
        # check_report = the schema + "each (trigger, arm) once"
        assert (problems == []) == (schema_valid and not duplicate), (problems, text[:300])
        verdicts["valid" if not problems else "invalid"] += 1
    assert verdicts["valid"] > 50 and verdicts["invalid"] > 1000


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    good=st.sampled_from(_good_reports()),
    patch=st.dictionaries(st.sampled_from([*_good_reports()[0], "x"]), _JSON, max_size=3),
    entry_patch=st.dictionaries(st.sampled_from(["trigger", "arm", "fire", "suppressed",
                                                 "latency", "x"]), _JSON, max_size=2),
)  # fmt: skip
def test_check_report_never_raises(
    good: dict[str, Any], patch: dict[str, Any], entry_patch: dict[str, Any]
) -> None:
    """The collector runs check_report first on whatever JSON arrives: it
    must answer with problems, never raise."""
    report = copy.deepcopy(good) | patch
    if isinstance(report.get("triggers"), list) and report["triggers"]:
        first = report["triggers"][0]
        if isinstance(first, dict):
            first.update(entry_patch)
    assert isinstance(check_report(report), list)
    assert isinstance(check_report(patch), list)


def test_check_report_rejects_a_trailing_newline() -> None:
    """ECMA-262 ``$`` (the schema's regex dialect) does not match before a
    final newline; Python's ``re.search`` does, so the collector runs
    check_report after the schema and catches it."""
    report = builder().build(NOW, random.Random(1))
    report["site"] = "demo\n"
    assert check_report(report) == [r"site: expected a string matching [A-Za-z0-9_-]{1,64}"]


def test_the_largest_valid_report_fits_in_64_kib() -> None:
    """The largest report the schema allows — 128 entries, every name at its
    longest, every count at 1000, 32 segments — is under the collector's
    64 KiB limit, as ``json.dumps`` writes it (the worker sends it so)."""
    entries = []
    for i in range(MAX_ENTRIES):
        entry = {"trigger": f"{'t' * 61}{i:03d}", "arm": "A" * 64}
        entry |= dict.fromkeys(COUNT_FIELDS, 1000)
        entry |= {"suppressed": dict.fromkeys(SUPPRESS_REASONS, 1000)}
        entry |= {"latency": [1000] * LATENCY_BUCKETS}
        entries.append(entry)
    largest = {
        "schema": 1, "site": "k" * 64, "report_id": "f" * 32, "seq": MAX_SEQ, "hour": 10_000_000,
        "privacy": {"mode": "unlinkable"}, "segment": "s" * 64, "triggers": entries,
    }  # fmt: skip
    assert check_report(largest) == []
    assert len(json.dumps(largest).encode()) <= MAX_REPORT_BYTES
    ldp = builder("ldp")
    ldp_largest = AggregateBuilder(
        "k" * 64, Privacy("ldp", 10.0), [(e["trigger"], [e["arm"]]) for e in entries],
        [f"{'s' * 62}{i:02d}" for i in range(32)],
    ).build(NOW, random.Random(1), seq=MAX_SEQ)  # fmt: skip
    assert check_report(ldp_largest) == [] and ldp.report_epsilon
    assert len(json.dumps(ldp_largest).encode()) <= MAX_REPORT_BYTES


def test_keep_probability_of_the_default_epsilon() -> None:
    assert keep_probability(builder("ldp").epsilon or 0) == pytest.approx(0.75)
