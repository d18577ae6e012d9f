"""Signals: what the engine measures from raw events (DESIGN.md §4).

``catalog`` describes every signal; the family modules hold the state that
computes them: ``pointer`` (dwell, exit intent), ``keys`` (focus, hesitation,
pauses, keystrokes), ``clicks`` (rage clicks), ``scroll`` (velocity, ratio,
depth) and ``page`` (idle, time on page, device context).
"""

from pytrigger.signals.catalog import SIGNALS, SignalSpec

__all__ = ["SIGNALS", "SignalSpec"]
