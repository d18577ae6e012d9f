"""Compiled config v1: frozen value types for triggers and everything around them.

:mod:`pytrigger.config` turns a JSON document into a :class:`Config`, validated
once; everything downstream (the engine, segments, experiments, aggregates)
reads these types and never the raw JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from pytrigger.conditions import Condition

__all__ = [
    "BUILTIN_SEGMENTS",
    "CONTEXTS",
    "DEFAULT_LDP_EPSILON",
    "EVENT_TYPES",
    "Action",
    "Arm",
    "ClassAction",
    "Config",
    "Experiment",
    "Gate",
    "Override",
    "Privacy",
    "SegmentDef",
    "SegmentSettings",
    "ShowAction",
    "ToastAction",
    "Trigger",
]

#: every event ``type`` of trace format v1 (DESIGN.md §3)
EVENT_TYPES: frozenset[str] = frozenset(
    {
        "pointermove", "pointerenter", "pointerleave", "pointerdown", "pointerup",
        "click", "keydown", "input", "focus", "blur", "scroll", "dragstart",
        "dragend", "selection", "compositionstart", "compositionend",
        "visibility", "leave", "context", "dismiss", "goal", "consent",
    }
)  # fmt: skip

#: the suppression contexts of ``suppress_when``, in the order they are checked
CONTEXTS: tuple[str, ...] = ("dragging", "selecting_text", "form_filling", "composing", "hidden")

#: the built-in segments, in the order they are tried (DESIGN.md §6)
BUILTIN_SEGMENTS: tuple[str, ...] = ("frustrated", "new", "power")

#: ln 3: randomized response keeps a bit with probability 3/4
DEFAULT_LDP_EPSILON = 1.0986122886681098


@dataclass(frozen=True, slots=True)
class ShowAction:
    """``{"show": selector}``: unhide the element(s)."""

    selector: str


@dataclass(frozen=True, slots=True)
class ClassAction:
    """``{"class": {"add": name, "on": selector}}``."""

    add: str
    on: str


@dataclass(frozen=True, slots=True)
class ToastAction:
    """``{"toast": {"title", "body", "cta"}}``, rendered as text, never HTML."""

    title: str
    body: str = ""
    cta: str | None = None


Action: TypeAlias = ShowAction | ClassAction | ToastAction


@dataclass(frozen=True, slots=True)
class Gate:
    """A confirmation gate: ``gate`` first, a confirming event of one of
    ``confirm``'s types within ``within_ms`` makes it ``fire``, else ``expire``.
    ``action`` is the optional soft-stage action."""

    confirm: frozenset[str]
    within_ms: float
    action: Action | None = None


@dataclass(frozen=True, slots=True)
class Override:
    """Replacement of some of a trigger's ``when``, ``hold_ms``, ``gate`` and
    ``action`` (each named field replaced whole).  ``fields`` names the ones
    given, so that ``"gate": null`` (remove the gate) differs from no ``gate``."""

    fields: frozenset[str] = frozenset()
    when: Condition | None = None
    hold_ms: float | None = None
    gate: Gate | None = None
    action: Action | None = None


@dataclass(frozen=True, slots=True)
class Arm:
    name: str
    weight: float
    override: Override = field(default_factory=Override)


@dataclass(frozen=True, slots=True)
class Experiment:
    """GrowthBook-compatible A/B arms (DESIGN.md §6).  ``weights`` are normalised
    as given (GrowthBook's bucket ranges take them as they are)."""

    key: str
    seed: str
    hash_version: Literal[1, 2]
    coverage: float
    arms: tuple[Arm, ...]


@dataclass(frozen=True, slots=True)
class Trigger:
    id: str
    when: Condition
    target: str | None = None
    hold_ms: float = 0.0
    gate: Gate | None = None
    cooldown_ms: float = 30000.0
    backoff: float = 2.0
    max_cooldown_ms: float = 3600000.0
    max_per_session: int = 3
    suppress_when: tuple[str, ...] = ()
    action: Action | None = None
    #: segment name -> override, in config order
    segments: tuple[tuple[str, Override], ...] = ()
    experiment: Experiment | None = None


@dataclass(frozen=True, slots=True)
class Privacy:
    """``unlinkable`` (default, ``epsilon`` None) or ``ldp`` with its ε per bit."""

    mode: Literal["unlinkable", "ldp"] = "unlinkable"
    epsilon: float | None = None


@dataclass(frozen=True, slots=True)
class SegmentDef:
    """A site's own segment: the first session whose condition holds joins it."""

    name: str
    when: Condition


@dataclass(frozen=True, slots=True)
class SegmentSettings:
    """Thresholds of the built-in segments (documented defaults the config may
    change) and the site's own segments, in config order."""

    frustrated_rage_clicks: int = 3
    frustrated_hesitation_ms: float = 10000.0
    frustrated_dismissals: int = 2
    power_sessions: int = 5
    power_keystroke_rate: float = 4.0
    custom: tuple[SegmentDef, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    triggers: tuple[Trigger, ...]
    privacy: Privacy = field(default_factory=Privacy)
    segments: SegmentSettings = field(default_factory=SegmentSettings)
    version: int = 1
