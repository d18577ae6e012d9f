"""Config v1 overrides (per segment, per experiment arm) and experiments.

An override replaces some of a trigger's ``when``, ``hold_ms``, ``gate`` and
``action``, each whole; ``"gate": null`` / ``"action": null`` remove them.  An
experiment is GrowthBook-compatible (DESIGN.md §6): ``key``, ``seed`` (default
the key), ``hash_version`` (1 or 2, default 2), ``coverage`` (0 to 1, default 1)
and at least two ``arms``, whose weights default to equal.

>>> from pytrigger.config_checks import Checker, Path
>>> from pytrigger.config_conditions import ConditionScope
>>> override = compile_override(Checker(), Path(), {"hold_ms": 200, "gate": None}, ConditionScope())
>>> sorted(override.fields), override.hold_ms, override.gate
(['gate', 'hold_ms'], 200.0, None)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pytrigger.config_actions import compile_gate, optional_action
from pytrigger.config_checks import (
    MISSING,
    Checker,
    Obj,
    Path,
    expect_object,
    identifier,
    number,
    string,
)
from pytrigger.config_conditions import ConditionScope, compile_condition
from pytrigger.triggers import Arm, Experiment, Gate, Override

__all__ = [
    "ARM_NAME_PATTERN",
    "OVERRIDE_FIELDS",
    "WEIGHT_SUM_TOLERANCE",
    "compile_experiment",
    "compile_override",
    "optional_gate",
]

OVERRIDE_FIELDS: tuple[str, ...] = ("when", "hold_ms", "gate", "action")
ARM_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: weights must sum to 1 within this, as GrowthBook's bucket ranges require
#: (outside [0.99, 1.01] GrowthBook silently falls back to equal weights)
WEIGHT_SUM_TOLERANCE = 0.01

#: trigger fields that stay the same in every segment and arm
_NOT_OVERRIDABLE = frozenset(
    {"id", "target", "cooldown_ms", "backoff", "max_cooldown_ms", "max_per_session",
     "suppress_when", "segments", "experiment"}
)  # fmt: skip
_EXPERIMENT_FIELDS = ("key", "seed", "hash_version", "coverage", "arms")
_ARM_FIELDS = ("name", "weight", "override")


def optional_gate(checker: Checker, path: Path, value: object) -> Gate | None:
    """A gate where absent (``MISSING``) and ``null`` both mean none."""
    if value is MISSING or value is None:
        return None
    return compile_gate(checker, path, value)


def compile_override(
    checker: Checker, path: Path, value: object, scope: ConditionScope
) -> Override | None:
    mark = checker.mark()
    obj = expect_object(checker, path, value, None)
    if obj is None:
        return None
    for name in obj.value:
        if name in _NOT_OVERRIDABLE:
            checker.problem(
                obj.at(name),
                f"{name!r} cannot be overridden (only when, hold_ms, gate and action can)",
            )
        elif name not in OVERRIDE_FIELDS:
            obj.unknown(name, OVERRIDE_FIELDS)
    when = None
    if obj.has("when"):
        when = compile_condition(checker, obj.at("when"), obj.value["when"], scope)
    hold_ms = None
    if obj.has("hold_ms"):
        hold_ms = number(checker, obj.at("hold_ms"), obj.value["hold_ms"], at_least=0)
    gate = optional_gate(checker, obj.at("gate"), obj.get("gate"))
    action = optional_action(checker, obj.at("action"), obj.get("action"))
    if checker.failed_since(mark):
        return None
    fields = frozenset(name for name in OVERRIDE_FIELDS if name in obj.value)
    return Override(fields, when, hold_ms, gate, action)


def compile_experiment(
    checker: Checker, path: Path, value: object, scope: ConditionScope
) -> Experiment | None:
    mark = checker.mark()
    obj = expect_object(checker, path, value, _EXPERIMENT_FIELDS)
    if obj is None:
        return None
    raw_key = obj.required("key")
    key = None if raw_key is MISSING else string(checker, obj.at("key"), raw_key)
    seed = key
    if obj.has("seed"):
        seed = string(checker, obj.at("seed"), obj.value["seed"])
    hash_version: int = 2
    if obj.has("hash_version"):
        raw = obj.value["hash_version"]
        if isinstance(raw, bool) or raw not in (1, 2):
            checker.problem(obj.at("hash_version"), "expected 1 or 2")
        else:
            hash_version = int(raw)
    coverage: float | None = 1.0
    if obj.has("coverage"):
        coverage = number(checker, obj.at("coverage"), obj.value["coverage"], at_least=0, at_most=1)
    raw_arms = obj.required("arms")
    arms = None if raw_arms is MISSING else _arms(checker, obj.at("arms"), raw_arms, scope)
    if (
        key is None
        or seed is None
        or coverage is None
        or arms is None
        or checker.failed_since(mark)
    ):
        return None
    return Experiment(key, seed, 1 if hash_version == 1 else 2, coverage, arms)


@dataclass(slots=True)
class _ArmDraft:
    """One arm as checked so far (``None`` fields were invalid)."""

    obj: Obj
    name: str | None
    weight: float | None
    override: Override | None


def _arms(
    checker: Checker, path: Path, value: object, scope: ConditionScope
) -> tuple[Arm, ...] | None:
    if not isinstance(value, list):
        checker.problem(path, "expected a list of arms")
        return None
    if len(value) < 2:
        checker.problem(path, "expected at least 2 arms")
        return None
    mark = checker.mark()
    drafts: list[_ArmDraft] = []
    names: set[str] = set()
    for i, item in enumerate(value):
        draft = _arm(checker, path.index(i), item, scope)
        if draft is None:
            continue
        if draft.name in names:
            checker.problem(draft.obj.at("name"), f"duplicate arm name {draft.name!r}")
        elif draft.name is not None:
            names.add(draft.name)
        drafts.append(draft)
    weights = _weights(checker, path, drafts) if len(drafts) == len(value) else None
    if weights is None or checker.failed_since(mark):
        return None
    return tuple(
        Arm(draft.name, weight, draft.override)
        for draft, weight in zip(drafts, weights, strict=True)
        if draft.name is not None and draft.override is not None
    )


def _arm(checker: Checker, path: Path, value: object, scope: ConditionScope) -> _ArmDraft | None:
    obj = expect_object(checker, path, value, _ARM_FIELDS)
    if obj is None:
        return None
    raw_name = obj.required("name")
    name = None
    if raw_name is not MISSING:
        name = identifier(
            checker, obj.at("name"), raw_name, ARM_NAME_PATTERN, "A-Z, a-z, 0-9, '_' and '-'"
        )
    weight = None
    if obj.has("weight"):
        weight = number(checker, obj.at("weight"), obj.value["weight"], at_least=0)
    override: Override | None = Override()
    if obj.has("override"):
        override = compile_override(checker, obj.at("override"), obj.value["override"], scope)
    return _ArmDraft(obj, name, weight, override)


def _weights(checker: Checker, path: Path, drafts: list[_ArmDraft]) -> list[float] | None:
    """Equal weights when no arm gives one; else every arm must, and they
    must sum to 1 (within :data:`WEIGHT_SUM_TOLERANCE`)."""
    if not any(draft.obj.has("weight") for draft in drafts):
        return [1.0 / len(drafts)] * len(drafts)
    for draft in drafts:
        if not draft.obj.has("weight"):
            checker.problem(
                draft.obj.at("weight"), "missing (when one arm has a weight, every arm needs one)"
            )
    weights = [draft.weight for draft in drafts if draft.weight is not None]
    if len(weights) != len(drafts):
        return None
    total = math.fsum(weights)
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE + 1e-12:
        checker.problem(path, f"weights must sum to 1 (within 0.01), not {total:g}")
        return None
    return weights
