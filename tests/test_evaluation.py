"""pytrigger.evaluation: condition trees over time — all / any / not, absence,
``at_least n of … within_ms`` at its edges — on fake readers, then through the
Engine (a decision exactly at an ``at_least`` expiry)."""

from __future__ import annotations

import itertools

import pytest
from enginekit import ev, one_trigger, run

from pytrigger.conditions import All, AnyOf, AtLeast, Condition, Leaf, Not
from pytrigger.evaluation import compile_condition

Value = bool | None


class FakeReader:
    """A signal whose value (1.0 true, 0.0 false, None absent) and next
    deadline the test sets by hand."""

    def __init__(self) -> None:
        self.v: float | None = 0.0
        self.d: float | None = None

    def value(self, t: float) -> float | None:
        return self.v

    def deadline(self, t: float, threshold: float | str) -> float | None:
        return self.d


def build(condition: Condition) -> tuple[object, dict[str, FakeReader]]:
    """Compile with one FakeReader per signal name; leaves read ``eq 1``."""
    readers: dict[str, FakeReader] = {}

    def reader_for(leaf: Leaf) -> FakeReader:
        return readers.setdefault(leaf.signal, FakeReader())

    return compile_condition(condition, reader_for), readers


def L(name: str) -> Leaf:
    return Leaf(name, "eq", 1.0)


def setv(reader: FakeReader, value: Value) -> None:
    reader.v = None if value is None else (1.0 if value else 0.0)


VALUES: list[Value] = [True, False, None]


@pytest.mark.parametrize(("a", "b"), list(itertools.product(VALUES, repeat=2)))
def test_all_any_truth_tables(a: Value, b: Value) -> None:
    for cls, combine in ((All, lambda x, y: x and y), (AnyOf, lambda x, y: x or y)):
        node, readers = build(cls((L("a"), L("b"))))
        setv(readers["a"], a)
        setv(readers["b"], b)
        # absence anywhere spreads, whatever the other part says
        expected = None if a is None or b is None else combine(a, b)
        assert node.eval(0.0) is expected  # type: ignore[attr-defined]


@pytest.mark.parametrize("a", VALUES)
def test_not(a: Value) -> None:
    node, readers = build(Not(L("a")))
    setv(readers["a"], a)
    assert node.eval(0.0) is (None if a is None else not a)  # type: ignore[attr-defined]


def test_absence_deep_inside_reaches_the_root() -> None:
    node, readers = build(AnyOf((L("a"), Not(All((L("b"), Not(L("c"))))))))
    setv(readers["a"], True)
    setv(readers["b"], False)
    setv(readers["c"], None)
    assert node.eval(0.0) is None  # type: ignore[attr-defined]
    setv(readers["c"], False)
    assert node.eval(0.0) is True  # type: ignore[attr-defined]


def test_leaf_comparisons() -> None:
    reader = FakeReader()
    reader.v = 5.0
    for op, expected in (("gt", False), ("gte", True), ("lt", False), ("lte", True), ("eq", True)):
        node = compile_condition(Leaf("x", op, 5.0), lambda leaf: reader)  # type: ignore[arg-type]
        assert node.eval(0.0) is expected
    text = FakeReader()
    text.v = "touch"  # type: ignore[assignment]
    node = compile_condition(Leaf("pointer", "eq", "touch"), lambda leaf: text)
    assert node.eval(0.0) is True


def test_deadline_is_the_earliest_of_the_parts() -> None:
    node, readers = build(All((L("a"), AnyOf((L("b"), Not(L("c")))))))
    readers["a"].d, readers["b"].d, readers["c"].d = 900.0, None, 400.0
    assert node.deadline(0.0) == 400.0  # type: ignore[attr-defined]
    readers["c"].d = None
    assert node.deadline(0.0) == 900.0  # type: ignore[attr-defined]
    readers["a"].d = None
    assert node.deadline(0.0) is None  # type: ignore[attr-defined]


# -- at_least ------------------------------------------------------------------


def at_least(n: int, names: str, within: float) -> tuple[object, dict[str, FakeReader]]:
    return build(AtLeast(n, tuple(L(name) for name in names), within))


def test_at_least_part_counts_while_t_before_end_plus_window() -> None:
    node, r = at_least(1, "a", 1000.0)
    assert node.eval(0.0) is False  # type: ignore[attr-defined]  # never true
    assert node.deadline(0.0) is None  # type: ignore[attr-defined]
    setv(r["a"], True)
    assert node.eval(100.0) is True  # type: ignore[attr-defined]
    setv(r["a"], False)
    assert node.eval(500.0) is True  # type: ignore[attr-defined]  # true until 500
    assert node.deadline(500.0) == 1500.0  # type: ignore[attr-defined]
    assert node.eval(1499.999) is True  # type: ignore[attr-defined]
    assert node.eval(1500.0) is False  # type: ignore[attr-defined]  # (500, 1500] misses it
    assert node.deadline(1500.0) is None  # type: ignore[attr-defined]


def test_at_least_two_of_three() -> None:
    node, r = at_least(2, "abc", 1000.0)
    setv(r["a"], True)
    assert node.eval(0.0) is False  # type: ignore[attr-defined]
    setv(r["a"], False)
    assert node.eval(200.0) is False  # type: ignore[attr-defined]  # a counts until 1200
    setv(r["b"], True)
    assert node.eval(1199.0) is True  # type: ignore[attr-defined]
    assert node.deadline(1199.0) == 1200.0  # type: ignore[attr-defined]
    assert node.eval(1200.0) is False  # type: ignore[attr-defined]
    setv(r["c"], True)
    assert node.eval(1300.0) is True  # type: ignore[attr-defined]  # b and c now


def test_at_least_a_part_true_again_counts_from_its_new_end() -> None:
    node, r = at_least(1, "a", 1000.0)
    for t, value in ((0.0, True), (100.0, False), (900.0, True), (1000.0, False)):
        setv(r["a"], value)
        assert node.eval(t) is True  # type: ignore[attr-defined]
    assert node.eval(1999.0) is True  # type: ignore[attr-defined]
    assert node.eval(2000.0) is False  # type: ignore[attr-defined]


def test_at_least_absent_part_makes_it_absent() -> None:
    node, r = at_least(1, "ab", 1000.0)
    setv(r["a"], True)
    setv(r["b"], None)
    assert node.eval(0.0) is None  # type: ignore[attr-defined]


def test_at_least_memory_is_kept_without_short_circuit() -> None:
    # ``all`` must still evaluate the at_least part when an earlier part is false,
    # or at_least would not see b fall at 100 and count it forever
    inner = AtLeast(1, (L("b"),), 1000.0)
    node, r = build(All((L("a"), inner)))
    setv(r["b"], True)
    assert node.eval(0.0) is False  # type: ignore[attr-defined]
    setv(r["b"], False)
    assert node.eval(100.0) is False  # type: ignore[attr-defined]
    setv(r["a"], True)
    assert node.eval(1099.0) is True  # type: ignore[attr-defined]
    assert node.eval(1100.0) is False  # type: ignore[attr-defined]


def test_compile_rejects_non_conditions() -> None:
    with pytest.raises(TypeError):
        compile_condition("nope", lambda leaf: FakeReader())  # type: ignore[arg-type]


# == through the Engine =======================================================

EXIT = {"signal": "exit_intent", "eq": 1}
DEEP = {"signal": "scroll_depth", "gte": 0.5}
NO_COOLDOWN = {"cooldown_ms": 0, "max_per_session": 100}


def scroll(t: float, y: float) -> dict[str, object]:
    return ev(t, "scroll", scroll_y=y, viewport_h=1000, doc_h=4000)


def leave(t: float) -> dict[str, object]:
    return ev(t, "leave", x=10, y=0)


def move(t: float) -> dict[str, object]:
    return ev(t, "pointermove", x=10, y=300)


@pytest.mark.parametrize(
    ("deep_at", "expected"),
    [(1199.0, [(1199.0, "fire")]), (1199.999, [(1199.999, "fire")]), (1200.0, [])],
)
def test_at_least_within_edge_through_the_engine(
    deep_at: float, expected: list[tuple[float, str]]
) -> None:
    cfg = one_trigger({"at_least": 2, "of": [EXIT, DEEP], "within_ms": 1000})
    # exit intent true from 100 until the move at 200: counts while t < 1200
    trace = [leave(100), move(200), scroll(deep_at, 1000)]
    assert run(cfg, trace, until=5000) == expected


def test_at_least_expiry_is_a_deadline() -> None:
    cfg = one_trigger(
        {"not": {"at_least": 2, "of": [EXIT, DEEP], "within_ms": 1000}}, **NO_COOLDOWN
    )
    trace = [leave(100), scroll(150, 1000), move(200)]
    # not(...) is true at 0, false from 150, true again exactly at 200 + 1000
    assert run(cfg, trace, until=5000) == [(0.0, "fire"), (1200.0, "fire")]


def test_all_any_not_through_the_engine() -> None:
    both = one_trigger({"all": [EXIT, DEEP]})
    either = one_trigger({"any": [EXIT, DEEP]})
    neither = one_trigger({"not": {"any": [EXIT, DEEP]}}, **NO_COOLDOWN)
    trace = [leave(100), move(200), scroll(300, 1000), leave(400)]
    assert run(both, trace) == [(400.0, "fire")]
    # any: falls at 200, rises again at 300 (in the cool-down)
    assert run(either, trace) == [(100.0, "fire"), (300.0, "suppressed", "cooldown")]
    assert run(neither, trace) == [(0.0, "fire"), (200.0, "fire")]


RATIO_ABSENT = {"signal": "scroll_velocity_ratio", "gte": 1000}


def ratio_trace() -> list[dict[str, object]]:
    """Scrolls with velocities 0, 100, 200, 300, 400, 500 px/s a second apart: the
    ratio is absent until the window of the last one empties at 5300 (then 0)."""
    return [scroll(1000.0 * k, 15.0 * k * (k + 1)) for k in range(6)]


@pytest.mark.parametrize(
    "when",
    [
        {"any": [{"signal": "time_on_page_ms", "gte": 0}, RATIO_ABSENT]},
        {"not": RATIO_ABSENT},
        {"all": [{"signal": "time_on_page_ms", "gte": 0}, {"not": RATIO_ABSENT}]},
        {"at_least": 1, "of": [{"signal": "time_on_page_ms", "gte": 0}, RATIO_ABSENT],
         "within_ms": 1000},
    ],
)  # fmt: skip
def test_absent_signal_makes_the_whole_condition_false(when: dict[str, object]) -> None:
    assert run(one_trigger(when), ratio_trace(), until=20_000) == [(5300.0, "fire")]
