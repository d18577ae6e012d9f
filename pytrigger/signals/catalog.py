"""The catalog of signals config v1 knows (DESIGN.md §4), as data.

Each entry says whether the signal is measured on the trigger's ``target``
(target-level) or on the whole page, which parameters a condition may give it
and their defaults, whether it is driven by time between events, and what kind
of value it has.  Config validation and the engine both read this table, so a
signal is described once.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = ["SIGNALS", "SignalSpec"]


@dataclass(frozen=True, slots=True)
class SignalSpec:
    name: str
    level: Literal["target", "page"]
    #: parameter name -> default value (ms)
    params: MappingProxyType[str, float]
    #: ``number`` signals take every comparison; ``text`` signals take ``eq`` only
    kind: Literal["number", "text"] = "number"
    #: True when the value changes between events as time passes
    time_driven: bool = False


def _spec(
    name: str,
    level: Literal["target", "page"],
    params: dict[str, float] | None = None,
    kind: Literal["number", "text"] = "number",
    time_driven: bool = False,
) -> SignalSpec:
    return SignalSpec(name, level, MappingProxyType(dict(params or {})), kind, time_driven)


SIGNALS: MappingProxyType[str, SignalSpec] = MappingProxyType(
    {
        s.name: s
        for s in (
            _spec("dwell_ms", "target", time_driven=True),
            _spec("focus_ms", "target", time_driven=True),
            _spec("hesitation_ms", "target", time_driven=True),
            _spec("pauses", "target", {"pause_ms": 2500.0}, time_driven=True),
            _spec("keystrokes", "target", {"window_ms": 2000.0}, time_driven=True),
            _spec("keystroke_rate", "target", {"window_ms": 2000.0}, time_driven=True),
            _spec("rage_clicks", "target", time_driven=True),
            _spec("scroll_velocity", "page", {"window_ms": 300.0}, time_driven=True),
            _spec("scroll_velocity_ratio", "page", {"window_ms": 300.0}, time_driven=True),
            _spec("scroll_depth", "page"),
            _spec("idle_ms", "page", time_driven=True),
            _spec("time_on_page_ms", "page", time_driven=True),
            _spec("exit_intent", "page"),
            # device context (the ``context`` event), for segments and rules
            _spec("pointer", "page", kind="text"),
            _spec("viewport_w", "page"),
        )
    }
)
