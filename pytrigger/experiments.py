"""Deterministic A/B assignment, compatible with GrowthBook's SDKs (DESIGN.md §6).

A unit (a visitor id) is hashed with the experiment's seed to a number ``n`` in
``[0, 1)``; the arms' weights and the coverage cut ``[0, 1)`` into one bucket
range per arm; the arm whose range holds ``n`` is the unit's, and a unit in no
range (outside the coverage) gets the trigger without the experiment.  The
same unit id always gets the same arm, on any machine, in Python or in
GrowthBook's JavaScript SDK: nothing here is random, reads a clock or keeps
state.  Standard library only, so it runs unchanged on Pyodide.

The functions mirror GrowthBook's (``hash``, ``getEqualWeights``,
``getBucketRanges``, ``chooseVariation`` and the bucketing part of ``run``) and
are pinned by GrowthBook's own test vectors in
``tests/conformance/growthbook-assignment.json``.

>>> gb_hash("seed", "a", 2)  # GrowthBook's vector: ("seed", "a", 2) -> 0.0505
0.0505
>>> bucket_ranges(2, 0.5)
[(0.0, 0.25), (0.5, 0.75)]
>>> experiment = Experiment(
...     key="search-prompt", seed="search-prompt", hash_version=2, coverage=1.0,
...     arms=(Arm("A", 0.5), Arm("B", 0.5)),
... )
>>> gb_hash("search-prompt", "visitor-42", 2), gb_hash("search-prompt", "visitor-2", 2)
(0.3303, 0.7101)
>>> assign(experiment, "visitor-42").name, assign(experiment, "visitor-2").name
('A', 'B')
>>> half = replace(experiment, coverage=0.5)  # ranges [0, 0.25) and [0.5, 0.75)
>>> assign(half, "visitor-2").name, assign(half, "visitor-42")  # 0.7101, 0.3303
('B', None)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from pytrigger.triggers import Arm, Experiment, Override, Trigger

__all__ = [
    "OVERRIDABLE_FIELDS",
    "RunResult",
    "assign",
    "bucket_ranges",
    "choose_variation",
    "effective_trigger",
    "equal_weights",
    "fnv1a32",
    "gb_hash",
    "run_experiment",
]

_FNV_OFFSET_BASIS = 0x811C9DC5
_FNV_PRIME = 0x01000193
_UINT32 = 0xFFFFFFFF
# UTF-16 in the machine's byte order, so that ``memoryview.cast("H")`` reads
# back code units; "surrogatepass" keeps a lone surrogate as the code unit JS
# would see instead of raising.
_UTF16_NATIVE = "utf-16-le" if sys.byteorder == "little" else "utf-16-be"

#: the trigger fields an arm's or a segment's override may replace (whole)
OVERRIDABLE_FIELDS: frozenset[str] = frozenset({"when", "hold_ms", "gate", "action"})


def fnv1a32(text: str) -> int:
    """FNV-1a, 32 bits, over the string's UTF-16 code units.

    This is GrowthBook's JS ``hashFnv32a``: it XORs in ``charCodeAt(i)``, so a
    character outside the BMP counts as its two surrogates.  (GrowthBook's
    Python SDK XORs in ``ord(c)`` instead and so disagrees with the JS SDK on
    such characters; we follow JS, which is what runs in browsers.)

    >>> fnv1a32("")
    2166136261
    >>> fnv1a32("\\N{GRINNING FACE}") == fnv1a32("\\ud83d\\ude00")
    True
    """
    h = _FNV_OFFSET_BASIS
    for unit in memoryview(text.encode(_UTF16_NATIVE, "surrogatepass")).cast("H"):
        h = ((h ^ unit) * _FNV_PRIME) & _UINT32
    return h


def gb_hash(seed: str, value: str, version: int) -> float | None:
    """GrowthBook's ``hash``: ``value`` and ``seed`` to a number in ``[0, 1)``.

    Version 2 (unbiased): ``fnv1a32(str(fnv1a32(seed + value))) % 10000 / 10000``.
    Version 1 (GrowthBook's original, biased): ``fnv1a32(value + seed) % 1000 / 1000``.
    Any other version: ``None``.
    """
    if version == 2:
        return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000
    if version == 1:
        return (fnv1a32(value + seed) % 1000) / 1000
    return None


def equal_weights(n: int) -> list[float]:
    """``n`` equal weights summing to 1; none for ``n <= 0`` (``getEqualWeights``)."""
    if n <= 0:
        return []
    return [1 / n] * n


def bucket_ranges(
    n: int, coverage: float = 1.0, weights: Sequence[float] | None = None
) -> list[tuple[float, float]]:
    """One half-open range ``[start, end)`` per variation (``getBucketRanges``).

    ``coverage`` is clamped to ``[0, 1]``.  ``weights`` are used as given when
    there are ``n`` of them summing to within ``[0.99, 1.01]``, else equal
    weights.  Variation ``i`` starts where the weights before it end, and
    covers ``coverage * weights[i]`` from there, so lowering the coverage
    shrinks each range in place and never moves a unit to another arm.
    """
    if coverage < 0:
        coverage = 0.0
    elif coverage > 1:
        coverage = 1.0
    chosen: Sequence[float] = equal_weights(n) if weights is None else weights
    # Sum left to right, as JS's reduce does (Python's sum() compensates for
    # rounding since 3.12, which could differ at the 0.99/1.01 edges).
    total = 0.0
    for w in chosen:
        total += w
    if len(chosen) != n or total < 0.99 or total > 1.01:
        chosen = equal_weights(n)
    ranges: list[tuple[float, float]] = []
    cumulative = 0.0
    for w in chosen:
        start = cumulative
        cumulative += w
        ranges.append((start, start + coverage * w))
    return ranges


def choose_variation(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    """Index of the first range with ``start <= n < end``; -1 if none."""
    for index, (start, end) in enumerate(ranges):
        if start <= n < end:
            return index
    return -1


class RunResult(NamedTuple):
    """What :func:`run_experiment` decided (GrowthBook's ``variationId``,
    ``inExperiment``, ``hashUsed``).  A named tuple, so it unpacks as
    ``index, in_experiment, hash_used = run_experiment(...)``."""

    variation_index: int
    in_experiment: bool
    hash_used: bool


_NOT_IN_EXPERIMENT = RunResult(0, False, False)


def run_experiment(
    key: str,
    variations_count: int,
    unit_id: str | None,
    *,
    weights: Sequence[float] | None = None,
    coverage: float = 1.0,
    seed: str | None = None,
    hash_version: int = 1,
) -> RunResult:
    """The bucketing steps of GrowthBook's ``run``, with its defaults.

    Not in the experiment (variation 0, ``in_experiment`` and ``hash_used``
    false) when there are fewer than 2 variations, when ``unit_id`` is empty
    or ``None``, when ``hash_version`` is unknown, or when the unit falls in no
    bucket range (outside the coverage).  The seed is ``seed`` or, when that
    is empty or ``None``, ``key``.  As in GrowthBook, ``hash_version``
    defaults to 1 here; pytrigger's configs default to 2 (see :func:`assign`).

    >>> run_experiment("my-test", 2, "1")
    RunResult(variation_index=1, in_experiment=True, hash_used=True)
    >>> run_experiment("my-test", 2, "")
    RunResult(variation_index=0, in_experiment=False, hash_used=False)
    """
    if variations_count < 2 or not unit_id:
        return _NOT_IN_EXPERIMENT
    n = gb_hash(seed or key, unit_id, hash_version)
    if n is None:
        return _NOT_IN_EXPERIMENT
    index = choose_variation(n, bucket_ranges(variations_count, coverage, weights))
    if index < 0:
        return _NOT_IN_EXPERIMENT
    return RunResult(index, True, True)


def assign(experiment: Experiment, unit_id: str) -> Arm | None:
    """The arm of ``experiment`` that ``unit_id`` gets, or ``None`` when the
    unit is not in the experiment (outside the coverage, an empty id, fewer
    than two arms): it then gets the base trigger (``variant: null``), not
    the first arm's override.

    Uses ``experiment.seed`` (the key when empty), ``hash_version`` and
    ``coverage``, and the arms' weights as given: like GrowthBook, weights
    that do not sum to 1 (within 0.01) fall back to equal weights.
    """
    arms = experiment.arms
    index, in_experiment, _ = run_experiment(
        experiment.key,
        len(arms),
        unit_id,
        weights=[arm.weight for arm in arms],
        coverage=experiment.coverage,
        seed=experiment.seed,
        hash_version=experiment.hash_version,
    )
    return arms[index] if in_experiment else None


def _apply(trigger: Trigger, override: Override, source: str) -> Trigger:
    """``trigger`` with each field named in ``override.fields`` replaced whole."""
    named = override.fields
    if not named:
        return trigger
    unknown = named - OVERRIDABLE_FIELDS
    if unknown:
        raise ValueError(f"{source} override names fields it may not replace: {sorted(unknown)}")
    when = trigger.when
    if "when" in named:
        if override.when is None:
            raise ValueError(f"{source} override replaces 'when' with nothing")
        when = override.when
    hold_ms = trigger.hold_ms
    if "hold_ms" in named:
        if override.hold_ms is None:
            raise ValueError(f"{source} override replaces 'hold_ms' with nothing")
        hold_ms = override.hold_ms
    # gate and action may be replaced by None: ``"gate": null`` removes the gate
    gate = override.gate if "gate" in named else trigger.gate
    action = override.action if "action" in named else trigger.action
    return replace(trigger, when=when, hold_ms=hold_ms, gate=gate, action=action)


def effective_trigger(
    trigger: Trigger, arm: Arm | None, segment_override: Override | None
) -> Trigger:
    """The trigger as this unit runs it: the base ``trigger``, overridden by
    its ``arm`` (if any), then by its segment's override (if any).

    Each field an override names replaces the trigger's field whole (a new
    ``when`` is not merged with the old one); fields it does not name are
    left as they were, so a segment that only names ``hold_ms`` keeps the
    arm's ``when``.  An override naming ``when`` or ``hold_ms`` without a
    value, or a field outside :data:`OVERRIDABLE_FIELDS`, is a bug in
    whoever built it (the config rejects such documents) and raises
    ``ValueError``.
    """
    if arm is not None:
        trigger = _apply(trigger, arm.override, f"arm {arm.name!r}")
    if segment_override is not None:
        trigger = _apply(trigger, segment_override, "segment")
    return trigger
