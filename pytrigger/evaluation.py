"""Evaluating condition trees over time.

:func:`compile_condition` turns a :class:`~pytrigger.conditions.Condition` into
a tree of nodes bound to signal readers.  ``node.eval(t)`` is ``True``/``False``,
or ``None`` when some signal it reads has no value yet: ``None`` spreads to the
root, where the trigger's condition counts as false (``not`` included), so
nothing fires on no data.  ``node.deadline(t)`` is the first moment after ``t``
at which the node may change its truth without a new event (leaf thresholds
crossed by time, trailing windows expiring, ``at_least`` memories running out).

Every node is evaluated at every step (no short-circuit): absence anywhere must
be seen, and ``at_least`` keeps a memory of when each part was last true.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Protocol

from pytrigger.conditions import All, AnyOf, AtLeast, Condition, Leaf, Not
from pytrigger.signals.base import Reader

__all__ = ["Node", "compile_condition"]

_INF = math.inf
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
}


class Node(Protocol):
    def eval(self, t: float) -> bool | None: ...

    def deadline(self, t: float) -> float | None: ...


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a < b else b


class LeafNode:
    __slots__ = ("compare", "reader", "threshold", "value")

    def __init__(self, leaf: Leaf, reader: Reader) -> None:
        self.reader = reader
        self.value = reader.value
        self.threshold = leaf.value
        # text signals take ``eq`` only (config validation), which == serves
        self.compare = _COMPARE[leaf.op]

    def eval(self, t: float) -> bool | None:
        value = self.value(t)
        if value is None:
            return None
        return self.compare(value, self.threshold)  # type: ignore[arg-type]

    def deadline(self, t: float) -> float | None:
        return self.reader.deadline(t, self.threshold)


class AllNode:
    __slots__ = ("parts",)

    def __init__(self, parts: list[Node]) -> None:
        self.parts = parts

    def eval(self, t: float) -> bool | None:
        result: bool | None = True
        for part in self.parts:
            value = part.eval(t)
            if value is None:
                result = None
            elif not value and result is not None:
                result = False
        return result

    def deadline(self, t: float) -> float | None:
        soonest: float | None = None
        for part in self.parts:
            soonest = _earliest(soonest, part.deadline(t))
        return soonest


class AnyNode(AllNode):
    __slots__ = ()

    def eval(self, t: float) -> bool | None:
        result: bool | None = False
        for part in self.parts:
            value = part.eval(t)
            if value is None:
                result = None
            elif value and result is not None:
                result = True
        return result


class NotNode:
    __slots__ = ("part",)

    def __init__(self, part: Node) -> None:
        self.part = part

    def eval(self, t: float) -> bool | None:
        value = self.part.eval(t)
        return None if value is None else not value

    def deadline(self, t: float) -> float | None:
        return self.part.deadline(t)


class AtLeastNode:
    """At least ``n`` parts true at some moment in ``(t - within_ms, t]``.

    ``ended[i]`` is ``inf`` while part ``i`` is true, the moment it last became
    false otherwise (``-inf`` if never true); a part that became false at ``e``
    was true just before ``e`` and counts while ``t < e + within_ms``."""

    __slots__ = ("ended", "n", "parts", "within_ms")

    def __init__(self, n: int, parts: list[Node], within_ms: float) -> None:
        self.n = n
        self.parts = parts
        self.within_ms = within_ms
        self.ended = [-_INF] * len(parts)

    def eval(self, t: float) -> bool | None:
        absent = False
        count = 0
        ended, within = self.ended, self.within_ms
        for i, part in enumerate(self.parts):
            value = part.eval(t)
            if value is None:
                absent, value = True, False
            if value:
                ended[i] = _INF
                count += 1
            else:
                if ended[i] == _INF:
                    ended[i] = t
                if t < ended[i] + within:
                    count += 1
        return None if absent else count >= self.n

    def deadline(self, t: float) -> float | None:
        soonest: float | None = None
        for i, part in enumerate(self.parts):
            soonest = _earliest(soonest, part.deadline(t))
            end = self.ended[i]
            if end != _INF and end + self.within_ms > t:
                soonest = _earliest(soonest, end + self.within_ms)
        return soonest


def compile_condition(condition: Condition, reader_for: Callable[[Leaf], Reader]) -> Node:
    """Bind a condition tree to readers (``reader_for(leaf)`` makes each leaf's)."""
    if isinstance(condition, Leaf):
        return LeafNode(condition, reader_for(condition))
    if isinstance(condition, All):
        return AllNode([compile_condition(c, reader_for) for c in condition.parts])
    if isinstance(condition, AnyOf):
        return AnyNode([compile_condition(c, reader_for) for c in condition.parts])
    if isinstance(condition, Not):
        return NotNode(compile_condition(condition.part, reader_for))
    if isinstance(condition, AtLeast):
        parts = [compile_condition(c, reader_for) for c in condition.parts]
        return AtLeastNode(condition.n, parts, condition.within_ms)
    raise TypeError(f"not a condition: {condition!r}")
