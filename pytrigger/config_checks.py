"""Building blocks of config validation: paths, the problem list, and checks of
JSON values (numbers, strings, ids, selectors) with the project's messages.

Every check reports what is wrong to a :class:`Checker` and returns the
compiled value, or ``None`` when the value is invalid; it never raises.  The
checker sorts problems into document order at the end, so callers may check
fields in whatever order suits them (cross-field checks last).

>>> checker = Checker()
>>> path = Path().key("triggers", 1).index(0).key("hold_ms", 3)
>>> number(checker, path, -5, at_least=0) is None
True
>>> [str(p) for p in checker.problems()]
['triggers[0].hold_ms: must not be negative']
"""

from __future__ import annotations

import difflib
import enum
import json
import math
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pytrigger.errors import ConfigProblem

__all__ = [
    "ID_PATTERN",
    "MISSING",
    "Checker",
    "Missing",
    "Obj",
    "Path",
    "expect_object",
    "identifier",
    "integer",
    "name_list",
    "number",
    "selector",
    "selector_problem",
    "string",
    "suggest",
]

#: trigger ids and custom segment names
ID_PATTERN = re.compile(r"[a-z0-9_-]{1,64}")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
#: longest word difflib is asked about (its matching is quadratic)
_SUGGEST_MAX_LEN = 100


class Missing(enum.Enum):
    """The type of :data:`MISSING`, an absent field (``None`` is JSON ``null``)."""

    MISSING = "MISSING"


MISSING = Missing.MISSING


@dataclass(frozen=True, slots=True)
class Path:
    """Where a value is in the document: ``text`` as shown to people
    (``triggers[0].when.all[1].gte``) and ``order``, the position of each step
    in its object or list, by which problems are sorted into document order."""

    text: str = ""
    order: tuple[int, ...] = ()

    def key(self, name: object, position: int) -> Path:
        if isinstance(name, str) and _BARE_KEY.fullmatch(name):
            text = f"{self.text}.{name}" if self.text else name
        else:
            shown = json.dumps(name) if isinstance(name, str) else repr(name)
            text = f"{self.text}[{shown}]"
        return Path(text, (*self.order, position))

    def index(self, i: int) -> Path:
        return Path(f"{self.text}[{i}]", (*self.order, i))


class Checker:
    """Collects :class:`ConfigProblem` s; :meth:`problems` gives them in
    document order (a problem about a whole object or list comes before the
    problems inside it; problems at one place keep the order they were found)."""

    def __init__(self) -> None:
        self._found: list[tuple[tuple[int, ...], ConfigProblem]] = []

    def problem(self, path: Path, message: str) -> None:
        self._found.append((path.order, ConfigProblem(path.text, message)))

    def mark(self) -> int:
        """A bookmark for :meth:`failed_since`."""
        return len(self._found)

    def failed_since(self, mark: int) -> bool:
        return len(self._found) > mark

    def problems(self) -> list[ConfigProblem]:
        return [problem for _, problem in sorted(self._found, key=lambda found: found[0])]


def suggest(word: object, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when ``word`` looks like a typo of a choice."""
    if not isinstance(word, str) or len(word) > _SUGGEST_MAX_LEN:
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Obj:
    """One JSON object being checked, with the names of its fields.

    Unknown fields are reported at construction (``unknown field 'whne' (did
    you mean 'when'?)``), as are fields a JSON text named twice (see
    :func:`pytrigger.config.parse_config`).  Pass ``fields=None`` to check the
    keys yourself."""

    def __init__(
        self,
        checker: Checker,
        path: Path,
        value: dict[Any, Any],
        fields: Sequence[str] | None,
    ) -> None:
        self.checker = checker
        self.path = path
        self.value = value
        self.fields: Sequence[str] = fields or ()
        self._keys = list(value)
        for name in getattr(value, "duplicates", ()):
            checker.problem(self.at(name), f"duplicate field {name!r}")
        if fields is not None:
            for name in self._keys:
                if name not in fields:
                    self.unknown(name, fields)

    def at(self, name: object) -> Path:
        """The path of field ``name``; an absent field sorts after the
        present ones, in the order of ``fields``."""
        if name in self.value:
            position = self._keys.index(name)
        elif isinstance(name, str) and name in self.fields:
            position = len(self._keys) + list(self.fields).index(name)
        else:
            position = len(self._keys) + len(self.fields)
        return self.path.key(name, position)

    def unknown(self, name: object, choices: Iterable[str]) -> None:
        self.checker.problem(self.at(name), f"unknown field {name!r}{suggest(name, choices)}")

    def has(self, name: str) -> bool:
        return name in self.value

    def get(self, name: str) -> object:
        """The field's value, or :data:`MISSING`."""
        return self.value.get(name, MISSING)

    def required(self, name: str) -> object:
        """The field's value; reports ``missing`` and gives :data:`MISSING`
        when absent."""
        if name not in self.value:
            self.checker.problem(self.at(name), "missing")
            return MISSING
        return self.value[name]


def expect_object(
    checker: Checker, path: Path, value: object, fields: Sequence[str] | None
) -> Obj | None:
    if not isinstance(value, dict):
        checker.problem(path, "expected an object")
        return None
    return Obj(checker, path, value, fields)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def _bounds_problem(
    x: float, at_least: float | None, above: float | None, at_most: float | None
) -> str | None:
    if at_least is not None and at_most is not None and not at_least <= x <= at_most:
        return f"must be between {_fmt(at_least)} and {_fmt(at_most)}"
    if at_least is not None and x < at_least:
        return "must not be negative" if at_least == 0 else f"must be at least {_fmt(at_least)}"
    if above is not None and x <= above:
        return f"must be greater than {_fmt(above)}"
    if at_most is not None and x > at_most:
        return f"must be at most {_fmt(at_most)}"
    return None


def number(
    checker: Checker,
    path: Path,
    value: object,
    *,
    at_least: float | None = None,
    above: float | None = None,
    at_most: float | None = None,
) -> float | None:
    """A finite JSON number (not a boolean) within the bounds, as a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        checker.problem(path, "expected a number")
        return None
    try:
        x = float(value)
    except OverflowError:  # an int past float's range
        x = math.inf
    if not math.isfinite(x):
        checker.problem(path, "expected a finite number")
        return None
    problem = _bounds_problem(x, at_least, above, at_most)
    if problem:
        checker.problem(path, problem)
        return None
    return x


def integer(
    checker: Checker,
    path: Path,
    value: object,
    *,
    at_least: int | None = None,
    at_most: int | None = None,
) -> int | None:
    """A JSON number with an integral value (``3`` or ``3.0``) within bounds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        checker.problem(path, "expected an integer")
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            checker.problem(path, "expected an integer")
            return None
        value = int(value)
    problem = _bounds_problem(value, at_least, None, at_most)
    if problem:
        checker.problem(path, problem)
        return None
    return value


def string(checker: Checker, path: Path, value: object, *, nonempty: bool = True) -> str | None:
    """A string; with ``nonempty``, one that is not empty or only spaces."""
    if not isinstance(value, str):
        checker.problem(path, "expected a string")
        return None
    if nonempty and not value.strip():
        checker.problem(path, "must not be empty")
        return None
    return value


def identifier(
    checker: Checker, path: Path, value: object, pattern: re.Pattern[str], letters: str
) -> str | None:
    """A string matching ``pattern``, described to people as ``letters``."""
    if not isinstance(value, str):
        checker.problem(path, "expected a string")
        return None
    if not pattern.fullmatch(value):
        checker.problem(path, f"expected 1 to 64 characters from {letters}")
        return None
    return value


def name_list(
    checker: Checker,
    path: Path,
    value: object,
    choices: Collection[str],
    what: str,
    *,
    nonempty: bool,
) -> tuple[str, ...] | None:
    """A list of distinct names, each one of ``choices`` (a ``what``)."""
    if not isinstance(value, list):
        checker.problem(path, f"expected a list of {what}s")
        return None
    if nonempty and not value:
        checker.problem(path, "must not be empty")
        return None
    mark = checker.mark()
    seen: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, str):
            checker.problem(path.index(i), "expected a string")
        elif item not in choices:
            checker.problem(path.index(i), f"unknown {what} {item!r}{suggest(item, choices)}")
        elif item in seen:
            checker.problem(path.index(i), f"duplicate {what} {item!r}")
        else:
            seen.add(item)
    return None if checker.failed_since(mark) else tuple(value)


_CLOSING = {"(": ")", "[": "]"}


def selector_problem(text: str) -> str | None:
    """What is obviously broken in a CSS selector, or ``None``.

    A full check needs a browser; this finds what no selector can be:
    unbalanced ``()``/``[]``, unterminated strings, braces, a trailing
    backslash, and empty members of a selector list (``a,,b``).

    >>> selector_problem("input[name='q'], #search:not(.x)") is None
    True
    >>> selector_problem("a[href")
    "unbalanced '['"
    """
    openers: list[str] = []
    quote: str | None = None
    escaped = False
    member_empty = True  # the current comma-separated member has no content yet
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quote is not None:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in _CLOSING:
            openers.append(ch)
        elif ch in ")]":
            if not openers or _CLOSING[openers.pop()] != ch:
                return f"unexpected {ch!r}"
        elif ch in "{}":
            return f"unexpected {ch!r}"
        elif ch == "," and not openers:
            if member_empty:
                return "empty selector in a list"
            member_empty = True
            continue
        if not ch.isspace():
            member_empty = False
    if escaped:
        return "ends with a lone backslash"
    if quote is not None:
        return f"unterminated string (missing closing {quote})"
    if openers:
        return f"unbalanced {openers[-1]!r}"
    if member_empty:
        return "empty selector in a list" if text.strip() else "must not be empty"
    return None


def selector(checker: Checker, path: Path, value: object) -> str | None:
    """A non-empty CSS selector that is not obviously broken."""
    text = string(checker, path, value)
    if text is None:
        return None
    problem = selector_problem(text)
    if problem:
        checker.problem(path, f"invalid selector: {problem}")
        return None
    return text
