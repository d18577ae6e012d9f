"""Config v1 (DESIGN.md §4, §6, §7) → a compiled, frozen :class:`Config`.

:func:`load_config` checks a decoded JSON value, :func:`parse_config` a JSON
text.  An invalid config is rejected as a whole: :class:`ConfigError` lists
every problem found, in document order, each with its path into the document.
Nothing here does I/O or imports anything beyond the standard library, so the
same check runs in ``pytrigger check``, in the engine and in the browser.

>>> config = load_config({"version": 1, "triggers": [
...     {"id": "idle", "when": {"signal": "idle_ms", "gte": 30000}}]})
>>> config.triggers[0].when
Leaf(signal='idle_ms', op='gte', value=30000.0, params=())
>>> config.triggers[0].cooldown_ms, config.privacy
(30000.0, Privacy(mode='unlinkable', epsilon=None))
>>> parse_config('''{"version": 1, "triggers": [{"id": "q", "whne": {},
...     "when": {"all": [{"signal": "pauses", "gte": "2"}]}}]}''')
Traceback (most recent call last):
...
pytrigger.errors.ConfigError: triggers[0].whne: unknown field 'whne' (did you mean 'when'?)
triggers[0].when.all[0].gte: expected a number
triggers[0].target: missing (triggers[0].when.all[0] uses 'pauses', which is measured on the target)

The reference, with every default and every decision made where DESIGN.md is
silent, is ``docs/config.md``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pytrigger.config_actions import optional_action
from pytrigger.config_checks import (
    ID_PATTERN,
    MISSING,
    Checker,
    Obj,
    Path,
    expect_object,
    identifier,
    integer,
    name_list,
    number,
    selector,
    suggest,
)
from pytrigger.config_conditions import ConditionScope, compile_condition
from pytrigger.config_overrides import compile_experiment, compile_override, optional_gate
from pytrigger.errors import ConfigError, ConfigProblem
from pytrigger.triggers import (
    BUILTIN_SEGMENTS,
    CONTEXTS,
    DEFAULT_LDP_EPSILON,
    Config,
    Override,
    Privacy,
    SegmentDef,
    SegmentSettings,
    Trigger,
)

__all__ = ["CONFIG_VERSION", "config_problems", "load_config", "parse_config"]

CONFIG_VERSION = 1

_ROOT_FIELDS = ("version", "triggers", "privacy", "segments")
_TRIGGER_FIELDS = (
    "id", "target", "when", "hold_ms", "gate", "cooldown_ms", "backoff",
    "max_cooldown_ms", "max_per_session", "suppress_when", "action", "segments",
    "experiment",
)  # fmt: skip
_PRIVACY_FIELDS = ("mode", "epsilon")
_PRIVACY_MODES = ("unlinkable", "ldp")
_SEGMENTS_FIELDS = ("thresholds", "custom")
_THRESHOLD_FIELDS = ("frustrated", "power")
_CUSTOM_FIELDS = ("name", "when")
_ID_LETTERS = "a-z, 0-9, '_' and '-'"
_SEGMENT_PAGE_ONLY = "a segment can use page-level signals only"


def config_problems(obj: object) -> list[ConfigProblem]:
    """Every problem of a decoded config, in document order; empty when valid."""
    return _compile(obj)[1]


def load_config(obj: object) -> Config:
    """Check a decoded JSON config and compile it; raises :class:`ConfigError`
    listing every problem."""
    config, problems = _compile(obj)
    if config is None or problems:
        raise ConfigError(problems or [ConfigProblem("", "invalid config")])
    return config


def parse_config(text: str) -> Config:
    """Like :func:`load_config`, from JSON text.  A syntax error is one problem
    at the root naming its line and column; a field named twice in an object
    is a problem at its path (JSON would silently keep the last one)."""
    try:
        obj = json.loads(text, object_pairs_hook=_JSONObject.from_pairs)
    except json.JSONDecodeError as error:
        message = f"invalid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        raise ConfigError([ConfigProblem("", message)]) from None
    except RecursionError:
        raise ConfigError([ConfigProblem("", "invalid JSON: nested too deeply")]) from None
    return load_config(obj)


class _JSONObject(dict[str, Any]):
    """A decoded JSON object that remembers which names it saw twice."""

    duplicates: tuple[str, ...] = ()

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, Any]]) -> _JSONObject:
        obj = cls(pairs)
        if len(obj) != len(pairs):
            counts = Counter(name for name, _ in pairs)
            obj.duplicates = tuple(name for name, count in counts.items() if count > 1)
        return obj


def _compile(obj: object) -> tuple[Config | None, list[ConfigProblem]]:
    checker = Checker()
    config = _root(checker, obj)
    return config, checker.problems()


def _root(checker: Checker, value: object) -> Config | None:
    root = Path()
    if not isinstance(value, dict):
        checker.problem(root, "expected a JSON object")
        return None
    version = value.get("version", MISSING)
    if isinstance(version, int | float) and not isinstance(version, bool) and version != 1:
        # another version's document: v1's rules would only report nonsense
        checker.problem(
            root.key("version", list(value).index("version")),
            f"unsupported version {version!r} (this pytrigger reads version 1)",
        )
        return None
    obj = Obj(checker, root, value, _ROOT_FIELDS)
    if version is MISSING:
        checker.problem(obj.at("version"), "missing")
    elif version != 1 or isinstance(version, bool):
        checker.problem(obj.at("version"), "expected 1")
    privacy: Privacy | None = Privacy()
    if obj.has("privacy"):
        privacy = _privacy(checker, obj.at("privacy"), value["privacy"])
    settings: SegmentSettings | None = SegmentSettings()
    names = BUILTIN_SEGMENTS
    if obj.has("segments"):
        settings, custom = _segment_settings(checker, obj.at("segments"), value["segments"])
        names = (*BUILTIN_SEGMENTS, *custom)
    raw_triggers = obj.required("triggers")
    triggers = None
    if raw_triggers is not MISSING:
        triggers = _triggers(checker, obj.at("triggers"), raw_triggers, names)
    if triggers is None or privacy is None or settings is None:
        return None
    return Config(triggers, privacy, settings, CONFIG_VERSION)


def _privacy(checker: Checker, path: Path, value: object) -> Privacy | None:
    mark = checker.mark()
    obj = expect_object(checker, path, value, _PRIVACY_FIELDS)
    if obj is None:
        return None
    mode = obj.value.get("mode", "unlinkable")
    if mode not in _PRIVACY_MODES or not isinstance(mode, str):
        checker.problem(
            obj.at("mode"), f"expected 'unlinkable' or 'ldp'{suggest(mode, _PRIVACY_MODES)}"
        )
    epsilon = None
    if obj.has("epsilon"):
        if mode == "unlinkable":
            checker.problem(obj.at("epsilon"), "only allowed with mode 'ldp'")
        else:
            epsilon = number(checker, obj.at("epsilon"), obj.value["epsilon"], above=0)
    if checker.failed_since(mark):
        return None
    if mode == "ldp":
        return Privacy("ldp", DEFAULT_LDP_EPSILON if epsilon is None else epsilon)
    return Privacy()


def _segment_settings(
    checker: Checker, path: Path, value: object
) -> tuple[SegmentSettings | None, tuple[str, ...]]:
    """The settings, and the custom segment names (every well-formed one, even
    of a segment with other problems, so that triggers naming it are not
    reported too)."""
    mark = checker.mark()
    obj = expect_object(checker, path, value, _SEGMENTS_FIELDS)
    if obj is None:
        return None, ()
    thresholds: dict[str, Any] = {}
    if obj.has("thresholds"):
        thresholds = _thresholds(checker, obj.at("thresholds"), obj.value["thresholds"])
    custom: list[SegmentDef] = []
    names: list[str] = []
    if obj.has("custom"):
        custom, names = _custom_segments(checker, obj.at("custom"), obj.value["custom"])
    if checker.failed_since(mark):
        return None, tuple(names)
    return SegmentSettings(**thresholds, custom=tuple(custom)), tuple(names)


def _thresholds(checker: Checker, path: Path, value: object) -> dict[str, Any]:
    """Keyword arguments of :class:`SegmentSettings` (those given and valid)."""
    out: dict[str, Any] = {}
    obj = expect_object(checker, path, value, _THRESHOLD_FIELDS)
    if obj is None:
        return out
    checks: dict[str, dict[str, tuple[str, float]]] = {
        # segment -> field -> (kind, bound): "int" at least bound, "ms" at least, "rate" above
        "frustrated": {
            "rage_clicks": ("int", 1), "hesitation_ms": ("ms", 0), "dismissals": ("int", 1),
        },
        "power": {"sessions": ("int", 1), "keystroke_rate": ("rate", 0)},
    }  # fmt: skip
    for segment, fields in checks.items():
        if not obj.has(segment):
            continue
        inner = expect_object(checker, obj.at(segment), obj.value[segment], tuple(fields))
        if inner is None:
            continue
        for name, (kind, bound) in fields.items():
            if not inner.has(name):
                continue
            at, raw = inner.at(name), inner.value[name]
            checked: float | None
            if kind == "int":
                checked = integer(checker, at, raw, at_least=int(bound))
            elif kind == "ms":
                checked = number(checker, at, raw, at_least=bound)
            else:
                checked = number(checker, at, raw, above=bound)
            if checked is not None:
                out[f"{segment}_{name}"] = checked
    return out


def _custom_segments(
    checker: Checker, path: Path, value: object
) -> tuple[list[SegmentDef], list[str]]:
    defs: list[SegmentDef] = []
    names: list[str] = []
    if not isinstance(value, list):
        checker.problem(path, "expected a list of segments")
        return defs, names
    for i, item in enumerate(value):
        obj = expect_object(checker, path.index(i), item, _CUSTOM_FIELDS)
        if obj is None:
            continue
        raw_name = obj.required("name")
        name = None
        if raw_name is not MISSING:
            name = identifier(checker, obj.at("name"), raw_name, ID_PATTERN, _ID_LETTERS)
        if name in BUILTIN_SEGMENTS:
            checker.problem(obj.at("name"), f"{name!r} is a built-in segment")
            name = None
        elif name in names:
            checker.problem(obj.at("name"), f"duplicate segment name {name!r}")
            name = None
        elif name is not None:
            names.append(name)
        raw_when = obj.required("when")
        when = None
        if raw_when is not MISSING:
            scope = ConditionScope(page_only=_SEGMENT_PAGE_ONLY)
            when = compile_condition(checker, obj.at("when"), raw_when, scope)
        if name is not None and when is not None:
            defs.append(SegmentDef(name, when))
    return defs, names


def _triggers(
    checker: Checker, path: Path, value: object, segments: tuple[str, ...]
) -> tuple[Trigger, ...] | None:
    if not isinstance(value, list):
        checker.problem(path, "expected a list of triggers")
        return None
    if not value:
        checker.problem(path, "must not be empty")
        return None
    ids: dict[str, str] = {}  # id -> path of its first use
    compiled = [
        _trigger(checker, path.index(i), item, segments, ids) for i, item in enumerate(value)
    ]
    triggers = [trigger for trigger in compiled if trigger is not None]
    return tuple(triggers) if len(triggers) == len(compiled) else None


def _trigger(
    checker: Checker, path: Path, value: object, segments: tuple[str, ...], ids: dict[str, str]
) -> Trigger | None:
    mark = checker.mark()
    obj = expect_object(checker, path, value, _TRIGGER_FIELDS)
    if obj is None:
        return None
    raw_id = obj.required("id")
    trigger_id = None
    if raw_id is not MISSING:
        trigger_id = identifier(checker, obj.at("id"), raw_id, ID_PATTERN, _ID_LETTERS)
    if trigger_id in ids:
        checker.problem(
            obj.at("id"), f"duplicate id {trigger_id!r} (first used at {ids[trigger_id]})"
        )
    elif trigger_id is not None:
        ids[trigger_id] = obj.at("id").text
    target = selector(checker, obj.at("target"), obj.value["target"]) if obj.has("target") else None
    scope = ConditionScope()
    raw_when = obj.required("when")
    when = None
    if raw_when is not MISSING:
        when = compile_condition(checker, obj.at("when"), raw_when, scope)
    hold_ms = _number_field(checker, obj, "hold_ms", 0.0, at_least=0)
    gate = optional_gate(checker, obj.at("gate"), obj.get("gate"))
    cooldown_ms = _number_field(checker, obj, "cooldown_ms", 30000.0, at_least=0)
    backoff = _number_field(checker, obj, "backoff", 2.0, at_least=1)
    max_cooldown_ms = _number_field(checker, obj, "max_cooldown_ms", 3600000.0, at_least=0)
    max_per_session = 3
    if obj.has("max_per_session"):
        raw = obj.value["max_per_session"]
        max_per_session = integer(checker, obj.at("max_per_session"), raw, at_least=1) or 3
    suppress_when: tuple[str, ...] = ()
    if obj.has("suppress_when"):
        raw = obj.value["suppress_when"]
        at = obj.at("suppress_when")
        suppress_when = name_list(checker, at, raw, CONTEXTS, "context", nonempty=False) or ()
    action = optional_action(checker, obj.at("action"), obj.get("action"))
    overrides = _segment_overrides(checker, obj, segments, scope)
    experiment = None
    if obj.has("experiment"):
        experiment = compile_experiment(
            checker, obj.at("experiment"), obj.value["experiment"], scope
        )
    if scope.target_uses and not obj.has("target"):
        leaf, signal = min(scope.target_uses, key=lambda use: use[0].order)
        checker.problem(
            obj.at("target"),
            f"missing ({leaf.text} uses {signal!r}, which is measured on the target)",
        )
    if trigger_id is None or when is None or checker.failed_since(mark):
        return None
    return Trigger(
        id=trigger_id, when=when, target=target, hold_ms=hold_ms, gate=gate,
        cooldown_ms=cooldown_ms, backoff=backoff, max_cooldown_ms=max_cooldown_ms,
        max_per_session=max_per_session,
        suppress_when=tuple(c for c in CONTEXTS if c in suppress_when),
        action=action, segments=overrides, experiment=experiment,
    )  # fmt: skip


def _number_field(
    checker: Checker, obj: Obj, name: str, default: float, *, at_least: float
) -> float:
    """The field's value, else its default (also when it is invalid: the
    problem is reported and the trigger will not be built)."""
    if not obj.has(name):
        return default
    checked = number(checker, obj.at(name), obj.value[name], at_least=at_least)
    return default if checked is None else checked


def _segment_overrides(
    checker: Checker, trigger: Obj, segments: tuple[str, ...], scope: ConditionScope
) -> tuple[tuple[str, Override], ...]:
    if not trigger.has("segments"):
        return ()
    obj = expect_object(checker, trigger.at("segments"), trigger.value["segments"], None)
    if obj is None:
        return ()
    out: list[tuple[str, Override]] = []
    for name, raw in obj.value.items():
        if name not in segments:
            checker.problem(obj.at(name), f"unknown segment {name!r}{suggest(name, segments)}")
        override = compile_override(checker, obj.at(name), raw, scope)
        if override is not None and name in segments:
            out.append((name, override))
    return tuple(out)
