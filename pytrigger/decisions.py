"""What the engine decides: frozen :class:`Decision` values.

>>> Decision(3012.0, "quick-search", "suppressed", reason="cooldown").to_json()
{'t': 3012.0, 'trigger': 'quick-search', 'decision': 'suppressed', 'reason': 'cooldown'}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from pytrigger.triggers import Action

__all__ = ["Decision", "DecisionKind"]

DecisionKind: TypeAlias = Literal["gate", "fire", "expire", "suppressed"]


@dataclass(frozen=True, slots=True)
class Decision:
    """A decision at time ``t`` (ms) for one trigger.

    ``reason`` is set on ``suppressed`` only: ``cooldown``, ``max_per_session``
    or the context's name.  ``action`` is the action to apply (the trigger's,
    after its arm's and segment's overrides; for ``gate`` the gate's soft-stage
    action), ``variant`` the experiment arm, ``segment`` the visitor's segment.
    """

    t: float
    trigger: str
    kind: DecisionKind
    reason: str | None = None
    variant: str | None = None
    segment: str | None = None
    action: Action | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``pytrigger simulate`` line for this decision.

        ``variant`` and ``segment`` appear only when the trigger has an
        experiment arm or the visitor a segment, so traces of plain configs
        read exactly as DESIGN.md §5 shows."""
        out: dict[str, Any] = {"t": self.t, "trigger": self.trigger, "decision": self.kind}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.variant is not None:
            out["variant"] = self.variant
        if self.segment is not None:
            out["segment"] = self.segment
        return out
