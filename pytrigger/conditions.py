"""Condition trees (config v1 ``when``), as frozen value types.

A condition is a :class:`Leaf` (one comparison of one signal) or a combinator:
:class:`All`, :class:`AnyOf`, :class:`Not`, :class:`AtLeast`.  They are built
once, validated, by :mod:`pytrigger.config`; evaluating them against signal
state over time is :mod:`pytrigger.evaluation`'s job.

>>> leaf = Leaf("pauses", "gte", 2.0, (("pause_ms", 2500.0),))
>>> leaf.param("pause_ms")
2500.0
>>> sorted(signals_of(All((leaf, Not(Leaf("scroll_depth", "lt", 0.15))))))
['pauses', 'scroll_depth']
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "OPS",
    "All",
    "AnyOf",
    "AtLeast",
    "Condition",
    "Leaf",
    "Not",
    "Op",
    "leaves",
    "signals_of",
]

Op: TypeAlias = Literal["gt", "gte", "lt", "lte", "eq"]
OPS: tuple[Op, ...] = ("gt", "gte", "lt", "lte", "eq")


@dataclass(frozen=True, slots=True)
class Leaf:
    """``{"signal": name, <op>: value, **params}``; params hold every default."""

    signal: str
    op: Op
    value: float | str
    params: tuple[tuple[str, float], ...] = ()

    def param(self, name: str) -> float:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True, slots=True)
class All:
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    part: Condition


@dataclass(frozen=True, slots=True)
class AtLeast:
    """True while at least ``n`` of ``parts`` have each been true at some
    moment in the trailing window ``(t - within_ms, t]``."""

    n: int
    parts: tuple[Condition, ...]
    within_ms: float


Condition: TypeAlias = Leaf | All | AnyOf | Not | AtLeast


def leaves(condition: Condition) -> Iterator[Leaf]:
    """Every leaf of a condition tree, depth first, left to right."""
    if isinstance(condition, Leaf):
        yield condition
    elif isinstance(condition, Not):
        yield from leaves(condition.part)
    else:
        for part in condition.parts:
            yield from leaves(part)


def signals_of(condition: Condition) -> frozenset[str]:
    """The names of the signals a condition reads."""
    return frozenset(leaf.signal for leaf in leaves(condition))
