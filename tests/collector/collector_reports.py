"""Report builders for the collector's tests (valid reports of both modes)."""

from __future__ import annotations

import random
import time
from typing import Any

from pytrigger.aggregates import AggregateBuilder
from pytrigger.decisions import Decision
from pytrigger.triggers import Privacy

TRIGGERS: list[tuple[str, list[str | None]]] = [("help", ["A", "B"]), ("exit", [None])]
SEGMENTS = ["frustrated", "new", "power"]


def report(
    site: str,
    *,
    mode: str = "unlinkable",
    fired: bool = True,
    seed: int | None = None,
    segment: str | None = "new",
    seq: int = 0,
) -> dict[str, Any]:
    """One session's report: 'help' exposed under arm A, fired or not.

    The same ``seed`` gives the same report id (and ldp randomization): with
    another ``seq``, a later (or earlier) snapshot of the same session."""
    privacy = Privacy("ldp", 1.0986122886681098) if mode == "ldp" else Privacy()
    builder = AggregateBuilder(site, privacy, TRIGGERS, SEGMENTS)
    builder.set_segment(segment)
    builder.exposure("help", "A")
    if fired:
        builder.decision(Decision(1.0, "help", "fire", variant="A"))
        builder.latency("help", "A", 20.0, replayed=False)
        builder.goal("signup")
    else:
        builder.decision(Decision(1.0, "help", "suppressed", reason="cooldown", variant="A"))
    rng = random.Random(seed)
    return builder.build(time.time() * 1000, rng, seq=seq)
