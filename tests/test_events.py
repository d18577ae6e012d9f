"""pytrigger.events: trace format v1 (DESIGN.md §3) → frozen Event, with the
exact reason a malformed object is rejected."""

from __future__ import annotations

import dataclasses
import doctest
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytrigger import events as events_module
from pytrigger.errors import EventError, PytriggerError
from pytrigger.events import KEY_CLASSES, POINTER_KINDS, Event, parse_event
from pytrigger.triggers import EVENT_TYPES

#: every type with the fields it requires (the smallest valid object)
MINIMAL: dict[str, dict[str, Any]] = {
    "pointermove": {}, "pointerenter": {}, "pointerleave": {}, "pointerdown": {},
    "pointerup": {}, "click": {"x": 10, "y": 20}, "keydown": {"key": "char"}, "input": {},
    "focus": {}, "blur": {}, "scroll": {"scroll_y": 0, "viewport_h": 800, "doc_h": 4000},
    "dragstart": {}, "dragend": {}, "selection": {"state": True}, "compositionstart": {},
    "compositionend": {}, "visibility": {"state": "hidden"}, "leave": {"x": 5, "y": 0},
    "context": {}, "dismiss": {"name": "quick-search"}, "goal": {"name": "signup"},
    "consent": {"state": False},
}  # fmt: skip


def test_doctests() -> None:
    assert doctest.testmod(events_module).failed == 0


def test_the_table_covers_every_type_of_the_contract() -> None:
    assert set(MINIMAL) == EVENT_TYPES
    assert len(EVENT_TYPES) == 22
    assert {"char", "backspace", "enter", "nav", "other"} == KEY_CLASSES
    assert {"mouse", "touch", "pen"} == POINTER_KINDS


@pytest.mark.parametrize("kind", sorted(MINIMAL))
def test_every_type_with_its_required_fields_is_accepted(kind: str) -> None:
    event = parse_event({"t": 12, "type": kind, **MINIMAL[kind]})
    assert event.t == 12.0 and isinstance(event.t, float)
    assert event.type == kind
    assert event.targets == ()
    for name, value in MINIMAL[kind].items():
        assert getattr(event, name) == value


def test_all_fields() -> None:
    event = parse_event(
        {"t": 1.5, "type": "context", "targets": ["a", "b"], "pointer": "touch", "viewport_w": 390}
    )
    assert event == Event(1.5, "context", targets=("a", "b"), pointer="touch", viewport_w=390.0)
    assert parse_event({"t": 0, "type": "click", "x": -3, "y": 2.5, "targets": None}).targets == ()


def test_unknown_fields_are_ignored() -> None:
    event = parse_event(
        {"t": 3, "type": "click", "x": 1, "y": 2, "button": 0, "target": "#id", "key2": []}
    )
    assert event == Event(3.0, "click", x=1.0, y=2.0)


def test_state_is_kept_only_where_it_means_something() -> None:
    assert parse_event({"t": 0, "type": "click", "x": 1, "y": 1, "state": "x"}).state is None
    assert parse_event({"t": 0, "type": "selection", "state": False}).state is False
    assert parse_event({"t": 0, "type": "visibility", "state": "visible"}).state == "visible"


def test_events_are_frozen() -> None:
    event = parse_event({"t": 0, "type": "input"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.t = 5.0  # type: ignore[misc]


REQUIRED = [(kind, name) for kind, fields in MINIMAL.items() for name in fields]


@pytest.mark.parametrize(("kind", "name"), REQUIRED)
@pytest.mark.parametrize("how", ["absent", "null"])
def test_each_required_field_missing(kind: str, name: str, how: str) -> None:
    obj = {"t": 1, "type": kind, **MINIMAL[kind]}
    if how == "absent":
        del obj[name]
    else:
        obj[name] = None
    with pytest.raises(EventError) as raised:
        parse_event(obj)
    assert raised.value.reason == f"{name}: missing (required for {kind})"


REJECTED: list[tuple[object, str]] = [
    ("click", "expected a JSON object"),
    ([{"t": 1, "type": "click"}], "expected a JSON object"),
    (None, "expected a JSON object"),
    (17, "expected a JSON object"),
    ({"type": "input"}, "t: missing"),
    ({"t": None, "type": "input"}, "t: missing"),
    ({"t": "1", "type": "input"}, "t: expected a number"),
    ({"t": True, "type": "input"}, "t: expected a number"),
    ({"t": [1], "type": "input"}, "t: expected a number"),
    ({"t": math.nan, "type": "input"}, "t: expected a finite number"),
    ({"t": math.inf, "type": "input"}, "t: expected a finite number"),
    ({"t": -0.5, "type": "input"}, "t: must not be negative"),
    ({"t": 1}, "type: missing"),
    ({"t": 1, "type": None}, "type: missing"),
    ({"t": 1, "type": 5}, "type: expected a string"),
    ({"t": 1, "type": "hover"}, "type: unknown event type 'hover'"),
    ({"t": 1, "type": "Click", "x": 1, "y": 1}, "type: unknown event type 'Click'"),
    ({"t": 1, "type": "input", "targets": "search"}, "targets: expected a list of trigger ids"),
    ({"t": 1, "type": "input", "targets": ["a", 2]}, "targets: expected a list of trigger ids"),
    ({"t": 1, "type": "input", "targets": {"a": 1}}, "targets: expected a list of trigger ids"),
    ({"t": 1, "type": "click", "x": "1", "y": 1}, "x: expected a number"),
    ({"t": 1, "type": "click", "x": 1, "y": False}, "y: expected a number"),
    ({"t": 1, "type": "click", "x": math.inf, "y": 1}, "x: expected a finite number"),
    ({"t": 1, "type": "scroll", "scroll_y": 0, "viewport_h": 1, "doc_h": 0},
     "doc_h: must be positive"),
    ({"t": 1, "type": "scroll", "scroll_y": 0, "viewport_h": 1, "doc_h": -5},
     "doc_h: must be positive"),
    ({"t": 1, "type": "scroll", "scroll_y": "0", "viewport_h": 1, "doc_h": 5},
     "scroll_y: expected a number"),
    ({"t": 1, "type": "context", "viewport_w": "wide"}, "viewport_w: expected a number"),
    ({"t": 1, "type": "keydown", "key": "a"},
     "key: expected one of backspace, char, enter, nav, other"),
    ({"t": 1, "type": "keydown", "key": "Enter"},
     "key: expected one of backspace, char, enter, nav, other"),
    ({"t": 1, "type": "visibility", "state": True}, "state: expected 'visible' or 'hidden'"),
    ({"t": 1, "type": "visibility", "state": "prerender"},
     "state: expected 'visible' or 'hidden'"),
    ({"t": 1, "type": "selection", "state": "true"}, "state: expected true or false"),
    ({"t": 1, "type": "consent", "state": 1}, "state: expected true or false"),
    ({"t": 1, "type": "goal", "name": 3}, "name: expected a string"),
    ({"t": 1, "type": "dismiss", "name": ["t"]}, "name: expected a string"),
    ({"t": 1, "type": "context", "pointer": "stylus"},
     "pointer: expected 'mouse', 'touch' or 'pen'"),
]  # fmt: skip


@pytest.mark.parametrize(("obj", "reason"), REJECTED)
def test_malformed_objects_are_rejected_with_the_exact_reason(obj: object, reason: str) -> None:
    with pytest.raises(EventError) as raised:
        parse_event(obj)
    assert raised.value.reason == reason
    assert str(raised.value) == reason
    assert isinstance(raised.value, PytriggerError)


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param({"t": 1, "type": "keydown", "key": ["char"]}, id="key-list"),
        pytest.param({"t": 1, "type": "context", "pointer": {"m": 1}}, id="pointer-object"),
        pytest.param({"t": 10**400, "type": "input"}, id="t-huge-int"),
        pytest.param({"t": 1, "type": "context", "viewport_w": -(10**400)}, id="w-huge-int"),
    ],
)
def test_any_decoded_json_is_parsed_or_rejected_with_event_error(obj: object) -> None:
    """JSON can carry lists, objects and integers too big for a float: such an
    object is malformed (EventError), never another exception."""
    with pytest.raises(EventError):
        parse_event(obj)


def test_the_first_problem_is_named() -> None:
    with pytest.raises(EventError, match=r"^t: missing$"):
        parse_event({"type": "click"})
    with pytest.raises(EventError, match=r"^x: missing"):
        parse_event({"t": 1, "type": "click", "key": "zzz"})


# -- to_json --------------------------------------------------------------------

numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
ids = st.lists(st.from_regex(r"[a-z0-9_-]{1,8}", fullmatch=True), max_size=3)


@st.composite
def trace_objects(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(MINIMAL)))
    obj: dict[str, Any] = {"t": draw(st.floats(0, 1e7)), "type": kind}
    for name in MINIMAL[kind]:
        if name == "key":
            obj[name] = draw(st.sampled_from(sorted(KEY_CLASSES)))
        elif name == "state" and kind == "visibility":
            obj[name] = draw(st.sampled_from(["visible", "hidden"]))
        elif name == "state":
            obj[name] = draw(st.booleans())
        elif name == "name":
            obj[name] = draw(st.text(max_size=10))
        elif name == "doc_h":
            obj[name] = draw(st.floats(0.5, 1e6))
        else:
            obj[name] = draw(numbers)
    if draw(st.booleans()):
        obj["targets"] = draw(ids)
    if kind == "context":
        if draw(st.booleans()):
            obj["pointer"] = draw(st.sampled_from(sorted(POINTER_KINDS)))
        if draw(st.booleans()):
            obj["viewport_w"] = draw(st.floats(0, 5000))
    return obj


@given(trace_objects())
def test_to_json_round_trip(obj: dict[str, Any]) -> None:
    event = parse_event(obj)
    assert parse_event(event.to_json()) == event
    expected = {k: v for k, v in obj.items() if not (k == "targets" and v == [])}
    assert event.to_json() == expected


def test_to_json_leaves_out_unset_fields() -> None:
    assert parse_event({"t": 2, "type": "input", "targets": []}).to_json() == {
        "t": 2.0,
        "type": "input",
    }
    assert parse_event({"t": 2, "type": "consent", "state": False}).to_json() == {
        "t": 2.0,
        "type": "consent",
        "state": False,
    }


def test_repr_shows_set_fields_only() -> None:
    event = parse_event({"t": 12.5, "type": "keydown", "targets": ["search"], "key": "char"})
    assert repr(event) == "Event(t=12.5, type='keydown', targets=('search',), key='char')"
