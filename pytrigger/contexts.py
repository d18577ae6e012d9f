"""Suppression contexts (``suppress_when``): moments in which a trigger must
not act, checked at the moment it would act.

- ``dragging``: from ``dragstart`` to ``dragend``, or while a pointer that is
  held down moves (``pointerdown`` then ``pointermove``, until ``pointerup``);
- ``selecting_text``: a ``selection`` event said text is selected;
- ``form_filling``: a field other than the trigger's target has focus and had
  ``input`` in the last 5 s, ``(t - 5000, t]`` (for a trigger without a target,
  any focused field with such input);
- ``composing``: between ``compositionstart`` and ``compositionend`` (IME);
- ``hidden``: the tab is hidden (``visibility`` event).
"""

from __future__ import annotations

import math

from pytrigger.events import Event

__all__ = ["FORM_FILLING_MS", "PageContexts"]

FORM_FILLING_MS = 5000.0


class PageContexts:
    __slots__ = (
        "composing",
        "drag_active",
        "field_input_at",
        "focused",
        "focused_targets",
        "hidden",
        "pointer_down",
        "pointer_moved",
        "selecting",
    )

    def __init__(self) -> None:
        self.drag_active = False
        self.pointer_down = False
        self.pointer_moved = False
        self.selecting = False
        self.composing = False
        self.hidden = False
        self.focused = False
        self.focused_targets: tuple[str, ...] = ()
        self.field_input_at = -math.inf

    def apply(self, event: Event) -> None:
        """Update from one event (any type; most change nothing here)."""
        kind = event.type
        if kind == "pointermove":
            if self.pointer_down:
                self.pointer_moved = True
        elif kind == "pointerdown":
            self.pointer_down, self.pointer_moved = True, False
        elif kind == "pointerup":
            self.pointer_down, self.pointer_moved = False, False
        elif kind == "dragstart":
            self.drag_active = True
        elif kind == "dragend":
            self.drag_active = False
            self.pointer_down = self.pointer_moved = False
        elif kind == "selection":
            self.selecting = event.state is True
        elif kind == "compositionstart":
            self.composing = True
        elif kind == "compositionend":
            self.composing = False
        elif kind == "visibility":
            self.hidden = event.state == "hidden"
        elif kind == "focus":
            self.focused, self.focused_targets = True, event.targets
            self.field_input_at = -math.inf
        elif kind == "blur":
            self.focused, self.focused_targets = False, ()
            self.field_input_at = -math.inf
        elif kind == "input" and self.focused:
            self.field_input_at = event.t

    def active(self, name: str, trigger_id: str, has_target: bool, t: float) -> bool:
        """Whether context ``name`` holds at ``t`` for the given trigger."""
        if name == "dragging":
            return self.drag_active or (self.pointer_down and self.pointer_moved)
        if name == "selecting_text":
            return self.selecting
        if name == "form_filling":
            if not self.focused or t >= self.field_input_at + FORM_FILLING_MS:
                return False
            return not has_target or trigger_id not in self.focused_targets
        if name == "composing":
            return self.composing
        if name == "hidden":
            return self.hidden
        raise ValueError(f"unknown context {name!r}")  # config validation rules this out
