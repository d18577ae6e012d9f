"""Config v1 conditions (``when``) → :mod:`pytrigger.conditions` trees.

A condition is a signal comparison, ``{"signal": name, <op>: value,
<params>}``, or exactly one combinator: ``{"all": [...]}``, ``{"any": [...]}``,
``{"not": c}``, ``{"at_least": n, "of": [...], "within_ms": w}``.  Signals,
their parameters and defaults come from :mod:`pytrigger.signals.catalog`.

>>> from pytrigger.config_checks import Checker, Path
>>> checker = Checker()
>>> scope = ConditionScope()
>>> compile_condition(checker, Path(), {"signal": "pauses", "gte": 2}, scope)
Leaf(signal='pauses', op='gte', value=2.0, params=(('pause_ms', 2500.0),))
>>> compile_condition(checker, Path("when"), {"signal": "dwel_ms", "gte": 2}, scope)
>>> [str(p) for p in checker.problems()]
["when.signal: unknown signal 'dwel_ms' (did you mean 'dwell_ms'?)"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytrigger.conditions import OPS, All, AnyOf, AtLeast, Condition, Leaf, Not, Op
from pytrigger.config_checks import MISSING, Checker, Obj, Path, integer, number, suggest
from pytrigger.events import POINTER_KINDS
from pytrigger.signals.catalog import SIGNALS, SignalSpec

__all__ = ["COMBINATORS", "MAX_DEPTH", "ConditionScope", "compile_condition"]

COMBINATORS: tuple[str, ...] = ("all", "any", "not", "at_least")
#: deepest nesting of conditions accepted (the top ``when`` is level 1)
MAX_DEPTH = 32

_AT_LEAST_FIELDS = ("at_least", "of", "within_ms")
#: every parameter name any signal takes
_ALL_PARAMS: tuple[str, ...] = tuple(sorted({p for s in SIGNALS.values() for p in s.params}))
#: the values a ``text`` signal can equal
_TEXT_VALUES: dict[str, frozenset[str]] = {"pointer": POINTER_KINDS}
_OPS_TEXT = "gt, gte, lt, lte, eq"


@dataclass(slots=True)
class ConditionScope:
    """Where a condition is compiled.

    In a trigger (``page_only`` None) target-level signals are allowed and
    each use is recorded in ``target_uses`` (the leaf's path and the signal),
    so the trigger can require a ``target``.  Elsewhere ``page_only`` is the
    reason they are not allowed."""

    page_only: str | None = None
    target_uses: list[tuple[Path, str]] = field(default_factory=list)


def compile_condition(
    checker: Checker, path: Path, value: object, scope: ConditionScope, depth: int = 1
) -> Condition | None:
    """The condition at ``path``, or ``None`` after reporting its problems."""
    if depth > MAX_DEPTH:
        checker.problem(path, f"nested too deeply (the limit is {MAX_DEPTH} levels)")
        return None
    if not isinstance(value, dict):
        checker.problem(path, "expected an object (a signal comparison or a combinator)")
        return None
    kinds = [key for key in value if key in COMBINATORS]
    if "signal" in value:
        if kinds:
            checker.problem(
                path, f"mixes a signal comparison with {kinds[0]!r}: use one or the other"
            )
            return None
        return _leaf(checker, path, value, scope)
    if len(kinds) > 1:
        shown = " and ".join(repr(kind) for kind in kinds)
        checker.problem(path, f"expected one combinator, got {shown}")
        return None
    if not kinds:
        _neither(checker, path, value)
        return None
    kind = kinds[0]
    if kind == "at_least":
        return _at_least(checker, Obj(checker, path, value, _AT_LEAST_FIELDS), scope, depth)
    obj = Obj(checker, path, value, (kind,))
    if kind == "not":
        part = compile_condition(checker, obj.at("not"), value["not"], scope, depth + 1)
        return None if part is None else Not(part)
    parts = _parts(checker, obj.at(kind), value[kind], scope, depth)
    if parts is None:
        return None
    return All(parts) if kind == "all" else AnyOf(parts)


def _neither(checker: Checker, path: Path, value: dict[Any, Any]) -> None:
    """An object that is neither a comparison nor a combinator: name the
    typos when there are some, else say what was expected."""
    words = ("signal", *COMBINATORS, *_AT_LEAST_FIELDS[1:])
    obj = Obj(checker, path, value, None)
    typos = [key for key in value if suggest(key, words)]
    for key in typos:
        obj.unknown(key, words)
    if not typos:
        checker.problem(
            path,
            'expected a signal comparison ({"signal": ...}) '
            "or a combinator (all, any, not, at_least)",
        )


def _parts(
    checker: Checker, path: Path, value: object, scope: ConditionScope, depth: int
) -> tuple[Condition, ...] | None:
    if not isinstance(value, list):
        checker.problem(path, "expected a list of conditions")
        return None
    if not value:
        checker.problem(path, "must not be empty")
        return None
    parts = [
        compile_condition(checker, path.index(i), item, scope, depth + 1)
        for i, item in enumerate(value)
    ]
    compiled = [part for part in parts if part is not None]
    return tuple(compiled) if len(compiled) == len(parts) else None


def _at_least(checker: Checker, obj: Obj, scope: ConditionScope, depth: int) -> AtLeast | None:
    mark = checker.mark()
    n = integer(checker, obj.at("at_least"), obj.value["at_least"], at_least=1)
    raw_of = obj.required("of")
    parts = None if raw_of is MISSING else _parts(checker, obj.at("of"), raw_of, scope, depth)
    raw_within = obj.required("within_ms")
    within = (
        None if raw_within is MISSING else number(checker, obj.at("within_ms"), raw_within, above=0)
    )
    if n is not None and parts is not None and n > len(parts):
        checker.problem(
            obj.at("at_least"),
            f"must be at most {len(parts)} (the number of conditions in 'of')",
        )
    if n is None or parts is None or within is None or checker.failed_since(mark):
        return None
    return AtLeast(n, parts, within)


def _leaf(
    checker: Checker, path: Path, value: dict[Any, Any], scope: ConditionScope
) -> Leaf | None:
    mark = checker.mark()
    obj = Obj(checker, path, value, None)
    name = value["signal"]
    spec: SignalSpec | None = None
    if not isinstance(name, str):
        checker.problem(obj.at("signal"), "expected a string")
    elif name not in SIGNALS:
        checker.problem(obj.at("signal"), f"unknown signal {name!r}{suggest(name, SIGNALS)}")
    else:
        spec = SIGNALS[name]
    _check_leaf_keys(obj, spec)
    ops: list[Op] = [op for op in OPS if op in value]
    ops.sort(key=list(value).index)  # as written
    if not ops:
        checker.problem(path, f"expected one comparison ({_OPS_TEXT})")
    elif len(ops) > 1:
        shown = " and ".join(repr(op) for op in ops)
        checker.problem(path, f"expected one comparison ({_OPS_TEXT}), got {shown}")
    if spec is None or len(ops) != 1:
        return None
    op = ops[0]
    compared = _compared_value(checker, obj, spec, op)
    params = tuple(
        (
            param,
            number(checker, obj.at(param), value[param], above=0) if param in value else default,
        )
        for param, default in sorted(spec.params.items())
    )
    if spec.level == "target":
        if scope.page_only is None:
            scope.target_uses.append((path, spec.name))
        else:
            checker.problem(
                obj.at("signal"),
                f"{spec.name!r} is measured on a trigger's target; {scope.page_only}",
            )
    if compared is None or checker.failed_since(mark):
        return None
    return Leaf(spec.name, op, compared, tuple((p, v) for p, v in params if v is not None))


def _check_leaf_keys(obj: Obj, spec: SignalSpec | None) -> None:
    """Report fields that are neither ``signal``, a comparison nor one of the
    signal's parameters (any signal's parameters when the signal is unknown)."""
    allowed = _ALL_PARAMS if spec is None else tuple(spec.params)
    words = ("signal", *OPS, *allowed)
    for key in obj.value:
        if key == "signal" or key in OPS or key in allowed:
            continue
        if spec is not None and key in _ALL_PARAMS:
            takes = f" (it takes {', '.join(spec.params)})" if spec.params else ""
            obj.checker.problem(obj.at(key), f"{spec.name!r} takes no parameter {key!r}{takes}")
        else:
            obj.unknown(key, words)


def _compared_value(checker: Checker, obj: Obj, spec: SignalSpec, op: Op) -> float | str | None:
    raw = obj.value[op]
    if spec.kind == "number":
        return number(checker, obj.at(op), raw)
    choices = _TEXT_VALUES.get(spec.name, frozenset())
    if op != "eq":
        checker.problem(obj.at(op), f"{spec.name!r} is compared with eq only")
        return None
    if not isinstance(raw, str) or raw not in choices:
        shown = ", ".join(repr(choice) for choice in sorted(choices))
        checker.problem(obj.at(op), f"expected one of {shown}")
        return None
    return raw
