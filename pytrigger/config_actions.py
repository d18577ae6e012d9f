"""Config v1 actions and confirmation gates → :mod:`pytrigger.triggers` values.

An action is exactly one of ``{"show": selector}``, ``{"class": {"add": name,
"on": selector}}`` and ``{"toast": {"title", "body", "cta"}}``; a gate is
``{"confirm": [event types], "within_ms": w, "action": action}``.

>>> from pytrigger.config_checks import Checker, Path
>>> compile_action(Checker(), Path("action"), {"class": {"add": "glow", "on": "#q"}})
ClassAction(add='glow', on='#q')
"""

from __future__ import annotations

from pytrigger.config_checks import (
    MISSING,
    Checker,
    Path,
    expect_object,
    name_list,
    number,
    selector,
    string,
)
from pytrigger.triggers import EVENT_TYPES, Action, ClassAction, Gate, ShowAction, ToastAction

__all__ = ["ACTION_KINDS", "compile_action", "compile_gate", "optional_action"]

ACTION_KINDS: tuple[str, ...] = ("show", "class", "toast")
_GATE_FIELDS = ("confirm", "within_ms", "action")
_CLASS_FIELDS = ("add", "on")
_TOAST_FIELDS = ("title", "body", "cta")
#: what ``DOMTokenList.add`` refuses: the empty string and ASCII whitespace
_NOT_IN_CLASS_NAMES = frozenset(" \t\n\f\r")


def optional_action(checker: Checker, path: Path, value: object) -> Action | None:
    """An action where absent (``MISSING``) and ``null`` both mean none."""
    if value is MISSING or value is None:
        return None
    return compile_action(checker, path, value)


def compile_action(checker: Checker, path: Path, value: object) -> Action | None:
    mark = checker.mark()
    obj = expect_object(checker, path, value, ACTION_KINDS)
    if obj is None:
        return None
    kinds = [key for key in obj.value if key in ACTION_KINDS]
    if len(kinds) > 1:
        shown = " and ".join(repr(kind) for kind in kinds)
        checker.problem(path, f"expected exactly one of show, class, toast, got {shown}")
        return None
    if not kinds:
        if not checker.failed_since(mark):  # else a typo was named already
            checker.problem(path, "expected one of show, class, toast")
        return None
    kind = kinds[0]
    at, raw = obj.at(kind), obj.value[kind]
    if kind == "show":
        shown_selector = selector(checker, at, raw)
        return None if shown_selector is None else ShowAction(shown_selector)
    if kind == "class":
        return _class_action(checker, at, raw)
    return _toast(checker, at, raw)


def _class_action(checker: Checker, path: Path, value: object) -> ClassAction | None:
    obj = expect_object(checker, path, value, _CLASS_FIELDS)
    if obj is None:
        return None
    add: str | None = None
    raw_add = obj.required("add")
    if raw_add is not MISSING:
        add = string(checker, obj.at("add"), raw_add, nonempty=False)
        if add is not None and (not add or _NOT_IN_CLASS_NAMES.intersection(add)):
            checker.problem(obj.at("add"), "expected one class name (not empty, no spaces)")
            add = None
    raw_on = obj.required("on")
    on = None if raw_on is MISSING else selector(checker, obj.at("on"), raw_on)
    if add is None or on is None:
        return None
    return ClassAction(add, on)


def _toast(checker: Checker, path: Path, value: object) -> ToastAction | None:
    mark = checker.mark()
    obj = expect_object(checker, path, value, _TOAST_FIELDS)
    if obj is None:
        return None
    raw_title = obj.required("title")
    title = None if raw_title is MISSING else string(checker, obj.at("title"), raw_title)
    body: str | None = ""
    if obj.has("body"):
        body = string(checker, obj.at("body"), obj.value["body"], nonempty=False)
    cta: str | None = None
    if obj.has("cta"):
        cta = string(checker, obj.at("cta"), obj.value["cta"])
    if title is None or body is None or checker.failed_since(mark):
        return None
    return ToastAction(title, body, cta)


def compile_gate(checker: Checker, path: Path, value: object) -> Gate | None:
    """A gate; ``null`` is for the caller to handle (it means none)."""
    mark = checker.mark()
    obj = expect_object(checker, path, value, _GATE_FIELDS)
    if obj is None:
        return None
    raw_confirm = obj.required("confirm")
    confirm = None
    if raw_confirm is not MISSING:
        confirm = name_list(
            checker, obj.at("confirm"), raw_confirm, EVENT_TYPES, "event type", nonempty=True
        )
    raw_within = obj.required("within_ms")
    within = None
    if raw_within is not MISSING:
        within = number(checker, obj.at("within_ms"), raw_within, above=0)
    action = optional_action(checker, obj.at("action"), obj.get("action"))
    if confirm is None or within is None or checker.failed_since(mark):
        return None
    return Gate(frozenset(confirm), within, action)
