"""Tests of pytrigger.experiments: GrowthBook's own vectors, read as data, then
the properties pytrigger relies on (determinism, coverage, weights, overrides)."""

from __future__ import annotations

import doctest
import json
import math
import random
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytrigger import experiments
from pytrigger.conditions import All, Leaf
from pytrigger.experiments import (
    assign,
    bucket_ranges,
    choose_variation,
    effective_trigger,
    equal_weights,
    fnv1a32,
    gb_hash,
    run_experiment,
)
from pytrigger.triggers import (
    Arm,
    Experiment,
    Gate,
    Override,
    ShowAction,
    ToastAction,
    Trigger,
)

CASES_PATH = Path(__file__).parent / "conformance" / "growthbook-assignment.json"
CASES: dict[str, Any] = json.loads(CASES_PATH.read_text(encoding="utf-8"))

# -- GrowthBook's conformance vectors ----------------------------------------


def test_every_section_is_present() -> None:
    for section in ("hash", "getBucketRange", "chooseVariation", "getEqualWeights", "run"):
        assert CASES[section], f"section {section!r} is empty"


@pytest.mark.parametrize(
    ("seed", "value", "version", "expected"),
    CASES["hash"],
    ids=[f"v{c[2]}-{c[0]!r}-{c[1]!r}" for c in CASES["hash"]],
)
def test_hash(seed: str, value: str, version: int, expected: float | None) -> None:
    # exact: k / 1000 and k / 10000 are correctly rounded, as is the JSON literal
    assert gb_hash(seed, value, version) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [c[1:] for c in CASES["getBucketRange"]],
    ids=[c[0] for c in CASES["getBucketRange"]],
)
def test_get_bucket_range(args: list[Any], expected: list[list[float]]) -> None:
    n, coverage, weights = args
    ranges = bucket_ranges(n, coverage, weights)
    # GrowthBook's own test rounds to 6 digits (0.2 * 0.2 is 0.04000000000000001)
    assert [[round(a, 6), round(b, 6)] for a, b in ranges] == expected


@pytest.mark.parametrize(
    ("n", "ranges", "expected"),
    [c[1:] for c in CASES["chooseVariation"]],
    ids=[c[0] for c in CASES["chooseVariation"]],
)
def test_choose_variation(n: float, ranges: list[list[float]], expected: int) -> None:
    assert choose_variation(n, [(a, b) for a, b in ranges]) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    CASES["getEqualWeights"],
    ids=[str(c[0]) for c in CASES["getEqualWeights"]],
)
def test_get_equal_weights(n: int, expected: list[float]) -> None:
    # the vectors give 1/3 to 8 digits, as GrowthBook's test rounds
    assert [round(w, 8) for w in equal_weights(n)] == expected


#: the only fields the ``run`` cases may use; a case using another one would
#: test something run_experiment does not implement, so it fails loudly
RUN_CONTEXT_FIELDS = frozenset({"attributes"})
RUN_EXPERIMENT_FIELDS = frozenset(
    {"key", "variations", "weights", "coverage", "seed", "hashVersion", "hashAttribute"}
)


def _unit_id(context: dict[str, Any], experiment: dict[str, Any]) -> str | None:
    assert set(context) <= RUN_CONTEXT_FIELDS, sorted(context)
    assert set(experiment) <= RUN_EXPERIMENT_FIELDS, sorted(experiment)
    unit_id = context.get("attributes", {}).get(experiment.get("hashAttribute", "id"))
    assert unit_id is None or isinstance(unit_id, str), unit_id
    return unit_id


@pytest.mark.parametrize(
    ("context", "experiment", "expected_value", "in_experiment", "hash_used"),
    [c[1:] for c in CASES["run"]],
    ids=[c[0] for c in CASES["run"]],
)
def test_run(
    context: dict[str, Any],
    experiment: dict[str, Any],
    expected_value: Any,
    in_experiment: bool,
    hash_used: bool,
) -> None:
    result = run_experiment(
        experiment["key"],
        len(experiment["variations"]),
        _unit_id(context, experiment),
        weights=experiment.get("weights"),
        coverage=experiment.get("coverage", 1.0),
        seed=experiment.get("seed"),
        hash_version=experiment.get("hashVersion", 1),  # GrowthBook's default
    )
    assert experiment["variations"][result.variation_index] == expected_value
    assert result.in_experiment is in_experiment
    assert result.hash_used is hash_used


@pytest.mark.parametrize(
    ("context", "experiment", "in_experiment"),
    [(c[1], c[2], c[4]) for c in CASES["run"]],
    ids=[c[0] for c in CASES["run"]],
)
def test_assign_agrees_with_run_cases(
    context: dict[str, Any], experiment: dict[str, Any], in_experiment: bool
) -> None:
    """The same cases through the Experiment/Arm types the engine uses."""
    count = len(experiment["variations"])
    weights = experiment.get("weights", equal_weights(count))
    exp = Experiment(
        key=experiment["key"],
        seed=experiment.get("seed", experiment["key"]),
        hash_version=experiment.get("hashVersion", 1),
        coverage=experiment.get("coverage", 1.0),
        arms=tuple(Arm(str(i), w) for i, w in enumerate(weights)),
    )
    # GrowthBook hashes a missing or null id as "" (not in the experiment)
    arm = assign(exp, _unit_id(context, experiment) or "")
    if not in_experiment:
        assert arm is None
    else:
        assert arm is not None
        expected = run_experiment(
            exp.key,
            count,
            _unit_id(context, experiment),
            weights=weights,
            coverage=exp.coverage,
            seed=exp.seed,
            hash_version=exp.hash_version,
        )
        assert arm is exp.arms[expected.variation_index]


# -- UTF-16 code units, as GrowthBook's JS SDK ---------------------------------

# Reference values computed with GrowthBook's JS ``hashFnv32a`` / ``hash``
# (packages/sdk-js/src/util.ts) under Node 20.
NON_BMP_VECTORS = [
    ("\N{GRINNING FACE}", 3409036472, 0.7506, 0.655),
    ("a\N{GRINNING FACE}b", 2412414209, 0.0673, 0.252),
    ("\ud83d", 931276136, 0.0472, 0.695),  # a lone surrogate, as JS strings allow
    ("日本", 1610399396, 0.6896, 0.283),
]


@pytest.mark.parametrize(("text", "fnv", "v2", "v1"), NON_BMP_VECTORS)
def test_hash_over_utf16_code_units(text: str, fnv: int, v2: float, v1: float) -> None:
    assert fnv1a32(text) == fnv
    assert gb_hash("exp", text, 2) == v2
    assert gb_hash("exp", text, 1) == v1


def test_non_bmp_character_hashes_as_its_surrogate_pair() -> None:
    emoji = "\N{GRINNING FACE}"  # U+1F600 = D83D DE00 in UTF-16
    assert fnv1a32(emoji) == fnv1a32("\ud83d\ude00")

    def over_code_points(text: str) -> int:  # what GrowthBook's Python SDK does
        h = 0x811C9DC5
        for char in text:
            h = ((h ^ ord(char)) * 0x01000193) & 0xFFFFFFFF
        return h

    assert fnv1a32(emoji) != over_code_points(emoji)
    assert fnv1a32("plain ascii") == over_code_points("plain ascii")


# -- assign ---------------------------------------------------------------------


def _experiment(
    weights: tuple[float, ...] = (0.5, 0.5),
    *,
    coverage: float = 1.0,
    hash_version: int = 2,
    key: str = "search-prompt",
    seed: str | None = None,
) -> Experiment:
    assert hash_version in (1, 2)
    return Experiment(
        key=key,
        seed=key if seed is None else seed,
        hash_version=1 if hash_version == 1 else 2,
        coverage=coverage,
        arms=tuple(Arm(chr(ord("A") + i), w) for i, w in enumerate(weights)),
    )


def _unit_ids(rng: random.Random, count: int) -> list[str]:
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]


def test_assign_known_units() -> None:
    # cross-checked against GrowthBook's JS hash: 0.3303 and 0.7101 (hash version 2)
    exp = _experiment()
    arm_42, arm_2 = assign(exp, "visitor-42"), assign(exp, "visitor-2")
    assert arm_42 is not None and arm_42.name == "A"
    assert arm_2 is not None and arm_2.name == "B"


def test_assign_is_deterministic() -> None:
    ids = _unit_ids(random.Random(1), 500)
    first = [assign(_experiment(), u) for u in ids]
    again = [assign(_experiment(), u) for u in reversed(ids)]
    assert first == list(reversed(again))


def test_assign_depends_on_seed_not_only_on_unit() -> None:
    ids = _unit_ids(random.Random(2), 1000)
    a = [assign(_experiment(seed="one"), u) for u in ids]
    b = [assign(_experiment(seed="two"), u) for u in ids]
    assert a != b


def test_empty_seed_falls_back_to_key() -> None:
    ids = _unit_ids(random.Random(3), 200)
    assert [assign(_experiment(seed=""), u) for u in ids] == [assign(_experiment(), u) for u in ids]


def test_no_arm_for_empty_unit_or_single_arm() -> None:
    assert assign(_experiment(), "") is None
    assert assign(_experiment((1.0,)), "visitor-42") is None


def _tally(exp: Experiment, ids: list[str]) -> dict[str | None, int]:
    counts: dict[str | None, int] = {}
    for u in ids:
        arm = assign(exp, u)
        name = None if arm is None else arm.name
        counts[name] = counts.get(name, 0) + 1
    return counts


def _within_standard_errors(count: int, total: int, p: float, k: float = 4.0) -> bool:
    return abs(count - total * p) <= k * math.sqrt(total * p * (1 - p))


IDS_100K = _unit_ids(random.Random(20240601), 100_000)


@pytest.mark.parametrize("hash_version", [1, 2])
def test_weights_are_respected(hash_version: int) -> None:
    weights = (0.2, 0.3, 0.5)
    counts = _tally(_experiment(weights, hash_version=hash_version), IDS_100K)
    assert None not in counts
    for name, w in zip("ABC", weights, strict=True):
        assert _within_standard_errors(counts[name], len(IDS_100K), w), (name, counts)


@pytest.mark.parametrize("hash_version", [1, 2])
def test_coverage_is_respected(hash_version: int) -> None:
    counts = _tally(_experiment(coverage=0.4, hash_version=hash_version), IDS_100K)
    total = len(IDS_100K)
    assert _within_standard_errors(total - counts[None], total, 0.4), counts
    for name in "AB":
        assert _within_standard_errors(counts[name], total, 0.2), counts


def test_zero_coverage_assigns_nobody() -> None:
    assert all(assign(_experiment(coverage=0.0), u) is None for u in IDS_100K[:1000])


def test_raising_coverage_never_moves_a_unit_to_another_arm() -> None:
    ids = IDS_100K[:5000]
    low = [assign(_experiment(coverage=0.3), u) for u in ids]
    high = [assign(_experiment(coverage=0.8), u) for u in ids]
    for before, after in zip(low, high, strict=True):
        if before is not None:
            assert after == before


def test_weights_not_summing_to_one_fall_back_to_equal() -> None:
    ids = IDS_100K[:2000]
    skewed = [assign(_experiment((2.0, 1.0)), u) for u in ids]
    assert skewed == [assign(_experiment((2.0, 1.0)), u) for u in ids]
    equal = [assign(_experiment((0.5, 0.5)), u) for u in ids]
    assert [a and a.name for a in skewed] == [a and a.name for a in equal]


@pytest.mark.parametrize(
    ("weights", "used"),
    [([0.4, 0.585], False), ([0.4, 0.595], True), ([0.5, 0.505], True), ([0.5, 0.515], False)],
)
def test_weight_sum_tolerance_is_one_hundredth(weights: list[float], used: bool) -> None:
    first_end = bucket_ranges(2, 1.0, weights)[0][1]
    assert first_end == (weights[0] if used else 0.5)


def test_run_experiment_unknown_hash_version_is_not_in_experiment() -> None:
    assert tuple(run_experiment("k", 2, "1", hash_version=3)) == (0, False, False)


# -- effective_trigger ----------------------------------------------------------

BASE = Trigger(
    id="quick-search",
    when=All((Leaf("pauses", "gte", 2.0), Leaf("scroll_depth", "lt", 0.5))),
    hold_ms=100.0,
    gate=Gate(confirm=frozenset({"pointermove"}), within_ms=1500.0),
    action=ShowAction("#search-help"),
    cooldown_ms=12345.0,
)
ARM_WHEN = Leaf("hesitation_ms", "gte", 2000.0)


def _arm(override: Override) -> Arm:
    return Arm("B", 0.5, override)


def test_no_overrides_is_the_base_trigger() -> None:
    assert effective_trigger(BASE, None, None) is BASE
    assert effective_trigger(BASE, Arm("A", 0.5), Override()) == BASE


def test_arm_replaces_named_fields_whole() -> None:
    arm = _arm(Override(fields=frozenset({"when", "hold_ms"}), when=ARM_WHEN, hold_ms=450.0))
    result = effective_trigger(BASE, arm, None)
    assert result.when == ARM_WHEN  # replaced, not merged into the base's All
    assert result.hold_ms == 450.0
    assert result.gate == BASE.gate and result.action == BASE.action
    assert result == replace(BASE, when=ARM_WHEN, hold_ms=450.0)


def test_segment_overrides_arm_which_overrides_base() -> None:
    arm = _arm(Override(fields=frozenset({"when", "hold_ms"}), when=ARM_WHEN, hold_ms=450.0))
    segment = Override(
        fields=frozenset({"hold_ms", "action"}), hold_ms=200.0, action=ToastAction("Need a hand?")
    )
    result = effective_trigger(BASE, arm, segment)
    assert result.hold_ms == 200.0  # segment beats arm
    assert result.when == ARM_WHEN  # arm beats base, segment did not name it
    assert result.action == ToastAction("Need a hand?")
    assert result.gate == BASE.gate  # nobody named it
    assert (result.id, result.cooldown_ms) == (BASE.id, BASE.cooldown_ms)


def test_gate_null_named_in_fields_removes_the_gate() -> None:
    segment = Override(fields=frozenset({"gate"}), gate=None)
    assert effective_trigger(BASE, None, segment).gate is None
    # an arm that adds a gate back loses to the segment that removes it
    arm = _arm(
        Override(
            fields=frozenset({"gate"}), gate=Gate(confirm=frozenset({"click"}), within_ms=500.0)
        )
    )
    assert effective_trigger(BASE, arm, segment).gate is None


def test_unnamed_fields_are_ignored_even_when_set() -> None:
    # only ``fields`` says what an override replaces: None there is "not given"
    override = Override(fields=frozenset({"hold_ms"}), hold_ms=5.0, gate=None, action=None)
    result = effective_trigger(BASE, None, override)
    assert result.gate == BASE.gate and result.action == BASE.action
    assert result.hold_ms == 5.0


def test_arm_without_override_changes_nothing() -> None:
    assert effective_trigger(BASE, Arm("A", 0.5), None) is BASE


@pytest.mark.parametrize(
    "override",
    [
        Override(fields=frozenset({"cooldown_ms"})),
        Override(fields=frozenset({"when"})),
        Override(fields=frozenset({"hold_ms"})),
    ],
    ids=["not overridable", "when without value", "hold_ms without value"],
)
def test_malformed_override_is_a_bug(override: Override) -> None:
    with pytest.raises(ValueError):
        effective_trigger(BASE, None, override)


# -- the module's own examples --------------------------------------------------


def test_doctests() -> None:
    result = doctest.testmod(experiments)
    assert result.attempted > 0
    assert result.failed == 0


def test_docs_worked_example() -> None:
    """docs/experiments.md's numbers are the code's."""
    docs = Path(__file__).parent.parent / "docs" / "experiments.md"
    result = doctest.testfile(str(docs), module_relative=False)
    assert result.attempted > 0
    assert result.failed == 0
