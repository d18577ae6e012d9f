"""Config v1 → compiled Config (pytrigger.config and its config_* helpers)."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytrigger.conditions import All, AnyOf, AtLeast, Leaf, Not
from pytrigger.config import config_problems, load_config, parse_config
from pytrigger.config_checks import selector_problem
from pytrigger.config_conditions import MAX_DEPTH
from pytrigger.errors import ConfigError, ConfigProblem
from pytrigger.signals.catalog import SIGNALS
from pytrigger.triggers import (
    DEFAULT_LDP_EPSILON,
    Arm,
    ClassAction,
    Config,
    Experiment,
    Gate,
    Override,
    Privacy,
    SegmentDef,
    SegmentSettings,
    ShowAction,
    ToastAction,
    Trigger,
)

ROOT = Path(__file__).resolve().parent.parent
INVALID_EXAMPLES = ROOT / "examples" / "invalid"

#: the example of DESIGN.md §4, verbatim
DESIGN_EXAMPLE: dict[str, Any] = {
    "version": 1,
    "privacy": {"mode": "unlinkable"},
    "triggers": [
        {
            "id": "quick-search",
            "target": "#search",
            "when": {
                "all": [
                    {"signal": "pauses", "pause_ms": 2500, "gte": 2},
                    {"signal": "scroll_depth", "lt": 0.15},
                ]
            },
            "hold_ms": 500,
            "gate": {"confirm": ["pointermove", "scroll", "click"], "within_ms": 3000},
            "cooldown_ms": 30000,
            "backoff": 2.0,
            "max_cooldown_ms": 3600000,
            "max_per_session": 3,
            "suppress_when": ["dragging", "selecting_text", "form_filling"],
            "action": {"show": "#quick-search-modal"},
        }
    ],
}

IDLE = {"signal": "idle_ms", "gte": 30000}


def config_with(**trigger: Any) -> dict[str, Any]:
    """A config of one trigger ``a`` (page-level ``when``) with ``trigger``'s fields."""
    return {"version": 1, "triggers": [{"id": "a", "when": IDLE, **trigger}]}


def root_with(**fields: Any) -> dict[str, Any]:
    """A valid config of one trigger with these top-level ``fields`` added."""
    return {"version": 1, "triggers": [{"id": "a", "when": IDLE}], **fields}


def problems_of(obj: object) -> list[str]:
    return [str(problem) for problem in config_problems(obj)]


# --- valid configs ----------------------------------------------------------------------


def test_design_example_compiles_to_the_expected_objects() -> None:
    config = load_config(DESIGN_EXAMPLE)
    assert config == Config(
        triggers=(
            Trigger(
                id="quick-search",
                target="#search",
                when=All(
                    (
                        Leaf("pauses", "gte", 2.0, (("pause_ms", 2500.0),)),
                        Leaf("scroll_depth", "lt", 0.15),
                    )
                ),
                hold_ms=500.0,
                gate=Gate(frozenset({"pointermove", "scroll", "click"}), 3000.0),
                cooldown_ms=30000.0,
                backoff=2.0,
                max_cooldown_ms=3600000.0,
                max_per_session=3,
                suppress_when=("dragging", "selecting_text", "form_filling"),
                action=ShowAction("#quick-search-modal"),
            ),
        ),
        privacy=Privacy("unlinkable", None),
        segments=SegmentSettings(),
        version=1,
    )


def test_parse_config_reads_the_same_from_text() -> None:
    assert parse_config(json.dumps(DESIGN_EXAMPLE)) == load_config(DESIGN_EXAMPLE)


def test_compiled_config_is_frozen_and_hashable() -> None:
    config = load_config(DESIGN_EXAMPLE)
    hash(config)
    with pytest.raises(AttributeError):
        config.triggers[0].hold_ms = 1.0  # type: ignore[misc]


def test_defaults_are_filled_in() -> None:
    config = load_config(config_with())
    assert config.triggers == (Trigger(id="a", when=Leaf("idle_ms", "gte", 30000.0)),)
    trigger = config.triggers[0]
    assert (trigger.target, trigger.hold_ms, trigger.gate, trigger.action) == (
        None,
        0.0,
        None,
        None,
    )
    assert (trigger.cooldown_ms, trigger.backoff, trigger.max_cooldown_ms) == (
        30000.0,
        2.0,
        3600000.0,
    )
    assert (trigger.max_per_session, trigger.suppress_when) == (3, ())
    assert (trigger.segments, trigger.experiment) == ((), None)
    assert config.privacy == Privacy("unlinkable", None)
    assert config.segments == SegmentSettings()
    assert config.version == 1


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_every_signal_gets_its_params_with_defaults_sorted(name: str) -> None:
    spec = SIGNALS[name]
    leaf: dict[str, Any] = {"signal": name}
    leaf["eq" if spec.kind == "text" else "gte"] = "touch" if spec.kind == "text" else 1
    trigger: dict[str, Any] = {"when": leaf}
    if spec.level == "target":
        trigger["target"] = "#t"
    when = load_config(config_with(**trigger)).triggers[0].when
    assert isinstance(when, Leaf)
    assert when.params == tuple(sorted((k, float(v)) for k, v in spec.params.items()))
    assert all(isinstance(v, float) for _, v in when.params)
    assert when.value == ("touch" if spec.kind == "text" else 1.0)


def test_given_params_are_floats_and_sorted() -> None:
    when = {"signal": "keystroke_rate", "window_ms": 1000, "gt": 3}
    leaf = load_config(config_with(target="#q", when=when)).triggers[0].when
    assert leaf == Leaf("keystroke_rate", "gt", 3.0, (("window_ms", 1000.0),))


def test_combinators_compile() -> None:
    when = {
        "any": [
            {"not": {"signal": "exit_intent", "eq": 1}},
            {
                "at_least": 2,
                "of": [
                    IDLE,
                    {"signal": "scroll_velocity", "gt": 800},
                    {"signal": "pointer", "eq": "pen"},
                ],
                "within_ms": 5000,
            },
        ]
    }
    assert load_config(config_with(when=when)).triggers[0].when == AnyOf(
        (
            Not(Leaf("exit_intent", "eq", 1.0)),
            AtLeast(
                2,
                (
                    Leaf("idle_ms", "gte", 30000.0),
                    Leaf("scroll_velocity", "gt", 800.0, (("window_ms", 300.0),)),
                    Leaf("pointer", "eq", "pen"),
                ),
                5000.0,
            ),
        )
    )


def test_actions_compile() -> None:
    def action_of(action: object) -> object:
        return load_config(config_with(action=action)).triggers[0].action

    assert action_of({"show": ".x"}) == ShowAction(".x")
    assert action_of({"class": {"add": "pt-glow", "on": "#q"}}) == ClassAction("pt-glow", "#q")
    assert action_of({"toast": {"title": "Hi"}}) == ToastAction("Hi", "", None)
    assert action_of({"toast": {"title": "Hi", "body": "", "cta": "Go"}}) == ToastAction(
        "Hi", "", "Go"
    )
    assert action_of(None) is None


def test_suppress_when_is_kept_in_the_order_contexts_are_checked() -> None:
    trigger = load_config(config_with(suppress_when=["hidden", "dragging", "composing"]))
    assert trigger.triggers[0].suppress_when == ("dragging", "composing", "hidden")


def test_integral_floats_count_as_integers_and_null_gate_means_none() -> None:
    trigger = load_config(config_with(max_per_session=2.0, gate=None)).triggers[0]
    assert trigger.max_per_session == 2
    assert isinstance(trigger.max_per_session, int)
    assert trigger.gate is None


def test_cooldown_above_its_cap_is_allowed() -> None:
    trigger = load_config(config_with(cooldown_ms=10_000, max_cooldown_ms=5_000)).triggers[0]
    assert (trigger.cooldown_ms, trigger.max_cooldown_ms) == (10_000.0, 5_000.0)


def test_full_config_with_segments_experiment_and_ldp() -> None:
    config = load_config(
        {
            "version": 1,
            "privacy": {"mode": "ldp"},
            "segments": {
                "thresholds": {
                    "frustrated": {"rage_clicks": 4, "hesitation_ms": 8000, "dismissals": 3},
                    "power": {"sessions": 10, "keystroke_rate": 5.5},
                },
                "custom": [{"name": "mobile", "when": {"signal": "viewport_w", "lt": 600}}],
            },
            "triggers": [
                {
                    "id": "help",
                    "target": "#q",
                    "when": {"signal": "hesitation_ms", "gte": 3000},
                    "action": {"toast": {"title": "Need help?"}},
                    "segments": {
                        "mobile": {"action": None},
                        "power": {"hold_ms": 450, "gate": None},
                        "frustrated": {"when": {"signal": "rage_clicks", "gte": 3}},
                    },
                    "experiment": {
                        "key": "help-prompt",
                        "hash_version": 1,
                        "coverage": 0.5,
                        "arms": [
                            {"name": "A", "weight": 0.25},
                            {"name": "B", "weight": 0.75, "override": {"hold_ms": 1000}},
                        ],
                    },
                }
            ],
        }
    )
    assert config.privacy == Privacy("ldp", DEFAULT_LDP_EPSILON)
    assert config.segments == SegmentSettings(
        frustrated_rage_clicks=4,
        frustrated_hesitation_ms=8000.0,
        frustrated_dismissals=3,
        power_sessions=10,
        power_keystroke_rate=5.5,
        custom=(SegmentDef("mobile", Leaf("viewport_w", "lt", 600.0)),),
    )
    trigger = config.triggers[0]
    assert trigger.segments == (
        ("mobile", Override(frozenset({"action"}))),
        ("power", Override(frozenset({"hold_ms", "gate"}), hold_ms=450.0)),
        ("frustrated", Override(frozenset({"when"}), when=Leaf("rage_clicks", "gte", 3.0))),
    )
    assert trigger.experiment == Experiment(
        key="help-prompt",
        seed="help-prompt",
        hash_version=1,
        coverage=0.5,
        arms=(
            Arm("A", 0.25, Override()),
            Arm("B", 0.75, Override(frozenset({"hold_ms"}), hold_ms=1000.0)),
        ),
    )


def test_ldp_epsilon_and_experiment_defaults() -> None:
    config = load_config(
        {
            "version": 1,
            "privacy": {"mode": "ldp", "epsilon": 0.5},
            "triggers": [
                {
                    "id": "a",
                    "when": IDLE,
                    "experiment": {
                        "key": "k",
                        "seed": "s",
                        "arms": [{"name": "x"}, {"name": "y"}, {"name": "z"}],
                    },
                }
            ],
        }
    )
    assert config.privacy == Privacy("ldp", 0.5)
    experiment = config.triggers[0].experiment
    assert experiment is not None
    assert (experiment.seed, experiment.hash_version, experiment.coverage) == ("s", 2, 1.0)
    assert [arm.weight for arm in experiment.arms] == [1 / 3] * 3


@pytest.mark.parametrize("weights", [[0.5, 0.5], [0.333, 0.333, 0.333], [0.0, 1.0], [0.3, 0.705]])
def test_weights_that_sum_to_one_within_growthbooks_tolerance(weights: list[float]) -> None:
    arms = [{"name": f"v{i}", "weight": w} for i, w in enumerate(weights)]
    experiment = (
        load_config(config_with(experiment={"key": "k", "arms": arms})).triggers[0].experiment
    )
    assert experiment is not None
    assert [arm.weight for arm in experiment.arms] == weights  # kept as given


def test_overrides_in_arms_and_segments_need_the_target_too() -> None:
    arm_when = {"name": "B", "override": {"when": {"signal": "dwell_ms", "gte": 1000}}}
    assert problems_of(config_with(experiment={"key": "k", "arms": [{"name": "A"}, arm_when]})) == [
        "triggers[0].target: missing (triggers[0].experiment.arms[1].override.when uses "
        "'dwell_ms', which is measured on the target)"
    ]
    segment_when = {"new": {"when": {"signal": "focus_ms", "gte": 1}}}
    assert problems_of(config_with(segments=segment_when)) == [
        "triggers[0].target: missing (triggers[0].segments.new.when uses 'focus_ms', "
        "which is measured on the target)"
    ]
    # the first use in document order is named, once
    when = {"all": [{"signal": "dwell_ms", "gt": 1}, {"signal": "focus_ms", "gt": 1}]}
    assert problems_of(config_with(when=when, segments=segment_when)) == [
        "triggers[0].target: missing (triggers[0].when.all[0] uses 'dwell_ms', "
        "which is measured on the target)"
    ]


# --- one problem each: (trigger fields, expected "path: message") -----------------------

#: (fields of trigger 0, expected "path: message" with the path after ``triggers[0].``)
TRIGGER_PROBLEMS: list[tuple[dict[str, Any], str]] = [
    ({"id": "Bad Id"}, "id: expected 1 to 64 characters from a-z, 0-9, '_' and '-'"),
    ({"id": "x" * 65}, "id: expected 1 to 64 characters from a-z, 0-9, '_' and '-'"),
    ({"id": "a\n"}, "id: expected 1 to 64 characters from a-z, 0-9, '_' and '-'"),
    ({"id": 7}, "id: expected a string"),
    ({"whne": IDLE}, "whne: unknown field 'whne' (did you mean 'when'?)"),
    ({"target": ""}, "target: must not be empty"),
    ({"target": "   "}, "target: must not be empty"),
    ({"target": 3}, "target: expected a string"),
    ({"target": "a[href"}, "target: invalid selector: unbalanced '['"),
    ({"target": "a:not(.b"}, "target: invalid selector: unbalanced '('"),
    ({"target": "a)"}, "target: invalid selector: unexpected ')'"),
    ({"target": "a[x='y]"}, "target: invalid selector: unterminated string (missing closing ')"),
    ({"target": "a { color: red }"}, "target: invalid selector: unexpected '{'"),
    ({"target": "a,,b"}, "target: invalid selector: empty selector in a list"),
    ({"target": "a,"}, "target: invalid selector: empty selector in a list"),
    ({"target": "a\\"}, "target: invalid selector: ends with a lone backslash"),
    ({"when": None}, "when: expected an object (a signal comparison or a combinator)"),
    ({"when": []}, "when: expected an object (a signal comparison or a combinator)"),
    (
        {"when": {}},
        'when: expected a signal comparison ({"signal": ...}) '
        "or a combinator (all, any, not, at_least)",
    ),
    ({"when": {"alll": [IDLE]}}, "when.alll: unknown field 'alll' (did you mean 'all'?)"),
    ({"when": {"all": []}}, "when.all: must not be empty"),
    ({"when": {"any": IDLE}}, "when.any: expected a list of conditions"),
    (
        {"when": {"all": [IDLE], "any": [IDLE]}},
        "when: expected one combinator, got 'all' and 'any'",
    ),
    (
        {"when": {"all": [IDLE], "signal": "idle_ms"}},
        "when: mixes a signal comparison with 'all': use one or the other",
    ),
    ({"when": {"all": [IDLE], "within_ms": 5}}, "when.within_ms: unknown field 'within_ms'"),
    (
        {"when": {"not": [IDLE]}},
        "when.not: expected an object (a signal comparison or a combinator)",
    ),
    ({"when": {"signal": "idle_ms"}}, "when: expected one comparison (gt, gte, lt, lte, eq)"),
    (
        {"when": {"signal": "idle_ms", "gt": 1, "lt": 2}},
        "when: expected one comparison (gt, gte, lt, lte, eq), got 'gt' and 'lt'",
    ),
    ({"when": {"signal": "idle_ms", "gte": "1"}}, "when.gte: expected a number"),
    ({"when": {"signal": "idle_ms", "gte": True}}, "when.gte: expected a number"),
    ({"when": {"signal": "idle_ms", "gte": math.inf}}, "when.gte: expected a finite number"),
    ({"when": {"signal": "idle_ms", "gte": math.nan}}, "when.gte: expected a finite number"),
    ({"when": {"signal": "idle_ms", "gte": 10**400}}, "when.gte: expected a finite number"),
    (
        {"when": {"signal": "idle", "gte": 1}},
        "when.signal: unknown signal 'idle' (did you mean 'idle_ms'?)",
    ),
    ({"when": {"signal": "zzz", "gte": 1}}, "when.signal: unknown signal 'zzz'"),
    ({"when": {"signal": 5, "gte": 1}}, "when.signal: expected a string"),
    (
        {"when": {"signal": "idle_ms", "gtee": 1, "gte": 1}},
        "when.gtee: unknown field 'gtee' (did you mean 'gte'?)",
    ),
    (
        {"when": {"signal": "idle_ms", "gte": 1, "window_ms": 5}},
        "when.window_ms: 'idle_ms' takes no parameter 'window_ms'",
    ),
    (
        {"when": {"signal": "scroll_depth", "gte": 1, "pause_ms": 5}},
        "when.pause_ms: 'scroll_depth' takes no parameter 'pause_ms'",
    ),
    (
        {"when": {"signal": "scroll_velocity", "gte": 1, "pause_ms": 5}},
        "when.pause_ms: 'scroll_velocity' takes no parameter 'pause_ms' (it takes window_ms)",
    ),
    (
        {"when": {"signal": "scroll_velocity", "gte": 1, "window_ms": 0}},
        "when.window_ms: must be greater than 0",
    ),
    (
        {"when": {"signal": "scroll_velocity_ratio", "gte": 1, "window_ms": "1s"}},
        "when.window_ms: expected a number",
    ),
    (
        {"when": {"signal": "pointer", "eq": "mice"}},
        "when.eq: expected one of 'mouse', 'pen', 'touch'",
    ),
    ({"when": {"signal": "pointer", "eq": 1}}, "when.eq: expected one of 'mouse', 'pen', 'touch'"),
    ({"when": {"signal": "pointer", "gt": "mouse"}}, "when.gt: 'pointer' is compared with eq only"),
    ({"when": {"at_least": 0, "of": [IDLE], "within_ms": 1}}, "when.at_least: must be at least 1"),
    (
        {"when": {"at_least": 1.5, "of": [IDLE], "within_ms": 1}},
        "when.at_least: expected an integer",
    ),
    (
        {"when": {"at_least": 2, "of": [IDLE], "within_ms": 1}},
        "when.at_least: must be at most 1 (the number of conditions in 'of')",
    ),
    ({"when": {"at_least": 1, "of": [], "within_ms": 1}}, "when.of: must not be empty"),
    (
        {"when": {"at_least": 1, "of": [IDLE], "within_ms": 0}},
        "when.within_ms: must be greater than 0",
    ),
    ({"when": {"at_least": 1, "of": [IDLE]}}, "when.within_ms: missing"),
    ({"when": {"at_least": 1, "within_ms": 5}}, "when.of: missing"),
    ({"hold_ms": -1}, "hold_ms: must not be negative"),
    ({"hold_ms": None}, "hold_ms: expected a number"),
    ({"cooldown_ms": -0.5}, "cooldown_ms: must not be negative"),
    ({"max_cooldown_ms": "1h"}, "max_cooldown_ms: expected a number"),
    ({"backoff": 0.9}, "backoff: must be at least 1"),
    ({"max_per_session": 0}, "max_per_session: must be at least 1"),
    ({"max_per_session": 2.5}, "max_per_session: expected an integer"),
    ({"max_per_session": False}, "max_per_session: expected an integer"),
    ({"suppress_when": "hidden"}, "suppress_when: expected a list of contexts"),
    ({"suppress_when": ["typing"]}, "suppress_when[0]: unknown context 'typing'"),
    (
        {"suppress_when": ["hiden"]},
        "suppress_when[0]: unknown context 'hiden' (did you mean 'hidden'?)",
    ),
    ({"suppress_when": ["hidden", "hidden"]}, "suppress_when[1]: duplicate context 'hidden'"),
    ({"gate": {"confirm": ["click"]}}, "gate.within_ms: missing"),
    ({"gate": {"within_ms": 10}}, "gate.confirm: missing"),
    ({"gate": {"confirm": [], "within_ms": 10}}, "gate.confirm: must not be empty"),
    (
        {"gate": {"confirm": ["clik"], "within_ms": 10}},
        "gate.confirm[0]: unknown event type 'clik' (did you mean 'click'?)",
    ),
    (
        {"gate": {"confirm": ["click", "click"], "within_ms": 10}},
        "gate.confirm[1]: duplicate event type 'click'",
    ),
    ({"gate": {"confirm": ["click"], "within_ms": 0}}, "gate.within_ms: must be greater than 0"),
    (
        {"gate": {"confirm": ["click"], "within_ms": 1, "acton": {}}},
        "gate.acton: unknown field 'acton' (did you mean 'action'?)",
    ),
    (
        {"gate": {"confirm": ["click"], "within_ms": 1, "action": {"show": ""}}},
        "gate.action.show: must not be empty",
    ),
    ({"gate": True}, "gate: expected an object"),
    ({"action": {}}, "action: expected one of show, class, toast"),
    ({"action": "show"}, "action: expected an object"),
    ({"action": {"shwo": "#x"}}, "action.shwo: unknown field 'shwo' (did you mean 'show'?)"),
    (
        {"action": {"show": "#x", "toast": {"title": "t"}}},
        "action: expected exactly one of show, class, toast, got 'show' and 'toast'",
    ),
    ({"action": {"show": "#x]"}}, "action.show: invalid selector: unexpected ']'"),
    (
        {"action": {"class": {"add": "a b", "on": "#x"}}},
        "action.class.add: expected one class name (not empty, no spaces)",
    ),
    (
        {"action": {"class": {"add": "", "on": "#x"}}},
        "action.class.add: expected one class name (not empty, no spaces)",
    ),
    ({"action": {"class": {"add": "glow"}}}, "action.class.on: missing"),
    ({"action": {"class": "glow"}}, "action.class: expected an object"),
    ({"action": {"toast": {"body": "b"}}}, "action.toast.title: missing"),
    ({"action": {"toast": {"title": ""}}}, "action.toast.title: must not be empty"),
    ({"action": {"toast": {"title": "t", "cta": ""}}}, "action.toast.cta: must not be empty"),
    ({"action": {"toast": {"title": "t", "body": None}}}, "action.toast.body: expected a string"),
    (
        {"action": {"toast": {"title": "t", "html": "<b>"}}},
        "action.toast.html: unknown field 'html'",
    ),
    ({"segments": []}, "segments: expected an object"),
    (
        {"segments": {"frustated": {}}},
        "segments.frustated: unknown segment 'frustated' (did you mean 'frustrated'?)",
    ),
    ({"segments": {"new segment": {}}}, "segments[\"new segment\"]: unknown segment 'new segment'"),
    (
        {"segments": {"new": {"cooldown_ms": 5}}},
        "segments.new.cooldown_ms: 'cooldown_ms' cannot be overridden "
        "(only when, hold_ms, gate and action can)",
    ),
    (
        {"segments": {"new": {"hold": 5}}},
        "segments.new.hold: unknown field 'hold' (did you mean 'hold_ms'?)",
    ),
    (
        {"segments": {"new": {"when": None}}},
        "segments.new.when: expected an object (a signal comparison or a combinator)",
    ),
    ({"segments": {"new": {"hold_ms": None}}}, "segments.new.hold_ms: expected a number"),
    ({"segments": {"new": None}}, "segments.new: expected an object"),
    ({"experiment": {"arms": [{"name": "A"}, {"name": "B"}]}}, "experiment.key: missing"),
    (
        {"experiment": {"key": "", "arms": [{"name": "A"}, {"name": "B"}]}},
        "experiment.key: must not be empty",
    ),
    (
        {"experiment": {"key": "k", "seed": "", "arms": [{"name": "A"}, {"name": "B"}]}},
        "experiment.seed: must not be empty",
    ),
    (
        {"experiment": {"key": "k", "hash_version": 3, "arms": [{"name": "A"}, {"name": "B"}]}},
        "experiment.hash_version: expected 1 or 2",
    ),
    (
        {"experiment": {"key": "k", "hash_version": True, "arms": [{"name": "A"}, {"name": "B"}]}},
        "experiment.hash_version: expected 1 or 2",
    ),
    (
        {"experiment": {"key": "k", "coverage": 1.5, "arms": [{"name": "A"}, {"name": "B"}]}},
        "experiment.coverage: must be between 0 and 1",
    ),
    (
        {"experiment": {"key": "k", "coverage": -0.1, "arms": [{"name": "A"}, {"name": "B"}]}},
        "experiment.coverage: must be between 0 and 1",
    ),
    ({"experiment": {"key": "k"}}, "experiment.arms: missing"),
    (
        {"experiment": {"key": "k", "arms": [{"name": "A"}]}},
        "experiment.arms: expected at least 2 arms",
    ),
    ({"experiment": {"key": "k", "arms": {"A": {}}}}, "experiment.arms: expected a list of arms"),
    (
        {"experiment": {"key": "k", "arms": [{"name": "A"}, {"name": "A"}]}},
        "experiment.arms[1].name: duplicate arm name 'A'",
    ),
    (
        {"experiment": {"key": "k", "arms": [{"name": "A"}, {"name": "B c"}]}},
        "experiment.arms[1].name: expected 1 to 64 characters from A-Z, a-z, 0-9, '_' and '-'",
    ),
    ({"experiment": {"key": "k", "arms": [{"name": "A"}, {}]}}, "experiment.arms[1].name: missing"),
    (
        {"experiment": {"key": "k", "arms": [{"name": "A"}, "B"]}},
        "experiment.arms[1]: expected an object",
    ),
    (
        {"experiment": {"key": "k", "arms": [{"name": "A", "weight": 1}, {"name": "B"}]}},
        "experiment.arms[1].weight: missing (when one arm has a weight, every arm needs one)",
    ),
    (
        {
            "experiment": {
                "key": "k",
                "arms": [{"name": "A", "weight": 0.5}, {"name": "B", "weight": 0.4}],
            }
        },
        "experiment.arms: weights must sum to 1 (within 0.01), not 0.9",
    ),
    (
        {
            "experiment": {
                "key": "k",
                "arms": [{"name": "A", "weight": 1.5}, {"name": "B", "weight": -0.5}],
            }
        },
        "experiment.arms[1].weight: must not be negative",
    ),
    (
        {"experiment": {"key": "k", "arms": [{"name": "A", "override": None}, {"name": "B"}]}},
        "experiment.arms[0].override: expected an object",
    ),
    (
        {
            "experiment": {
                "key": "k",
                "arms": [{"name": "A", "override": {"gate": {"within_ms": 5}}}, {"name": "B"}],
            }
        },
        "experiment.arms[0].override.gate.confirm: missing",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), TRIGGER_PROBLEMS)
def test_one_problem_with_its_path(fields: dict[str, Any], expected: str) -> None:
    expected = f"triggers[0].{expected}"
    assert problems_of(config_with(**fields)) == [expected]
    with pytest.raises(ConfigError) as raised:
        load_config(config_with(**fields))
    assert str(raised.value) == expected
    assert raised.value.path == expected.split(": ", 1)[0]


ROOT_PROBLEMS: list[tuple[object, str]] = [
    (None, "expected a JSON object"),
    ([DESIGN_EXAMPLE], "expected a JSON object"),
    ({"triggers": [{"id": "a", "when": IDLE}]}, "version: missing"),
    ({"version": "1", "triggers": [{"id": "a", "when": IDLE}]}, "version: expected 1"),
    ({"version": True, "triggers": [{"id": "a", "when": IDLE}]}, "version: expected 1"),
    (
        {"version": 2, "triggers": "anything", "v2_field": 1},
        "version: unsupported version 2 (this pytrigger reads version 1)",
    ),
    ({"version": 1}, "triggers: missing"),
    ({"version": 1, "triggers": []}, "triggers: must not be empty"),
    ({"version": 1, "triggers": {}}, "triggers: expected a list of triggers"),
    ({"version": 1, "triggers": [None]}, "triggers[0]: expected an object"),
    ({"version": 1, "triggers": [{"when": IDLE}]}, "triggers[0].id: missing"),
    ({"version": 1, "triggers": [{"id": "a"}]}, "triggers[0].when: missing"),
    (
        {"version": 1, "trigers": [], "triggers": [{"id": "a", "when": IDLE}]},
        "trigers: unknown field 'trigers' (did you mean 'triggers'?)",
    ),
    (root_with(privacy="ldp"), "privacy: expected an object"),
    (
        root_with(privacy={"mode": "dp"}),
        "privacy.mode: expected 'unlinkable' or 'ldp' (did you mean 'ldp'?)",
    ),
    (root_with(privacy={"epsilon": 1}), "privacy.epsilon: only allowed with mode 'ldp'"),
    (root_with(privacy={"mode": "ldp", "epsilon": 0}), "privacy.epsilon: must be greater than 0"),
    (root_with(privacy={"mode": "ldp", "epsilon": "ln3"}), "privacy.epsilon: expected a number"),
    (root_with(segments=[]), "segments: expected an object"),
    (
        root_with(segments={"thresholds": {"new": {}}}),
        "segments.thresholds.new: unknown field 'new'",
    ),
    (
        root_with(segments={"thresholds": {"frustrated": {"rage_clicks": 0}}}),
        "segments.thresholds.frustrated.rage_clicks: must be at least 1",
    ),
    (
        root_with(segments={"thresholds": {"frustrated": {"dismissals": 1.5}}}),
        "segments.thresholds.frustrated.dismissals: expected an integer",
    ),
    (
        root_with(segments={"thresholds": {"frustrated": {"hesitation_ms": -1}}}),
        "segments.thresholds.frustrated.hesitation_ms: must not be negative",
    ),
    (
        root_with(segments={"thresholds": {"power": {"sessions": 0}}}),
        "segments.thresholds.power.sessions: must be at least 1",
    ),
    (
        root_with(segments={"thresholds": {"power": {"keystroke_rate": 0}}}),
        "segments.thresholds.power.keystroke_rate: must be greater than 0",
    ),
    (root_with(segments={"custom": {}}), "segments.custom: expected a list of segments"),
    (
        root_with(segments={"custom": [{"name": "new", "when": IDLE}]}),
        "segments.custom[0].name: 'new' is a built-in segment",
    ),
    (
        root_with(segments={"custom": [{"name": "Mobile", "when": IDLE}]}),
        "segments.custom[0].name: expected 1 to 64 characters from a-z, 0-9, '_' and '-'",
    ),
    (
        root_with(segments={"custom": [{"name": "m", "when": IDLE}, {"name": "m", "when": IDLE}]}),
        "segments.custom[1].name: duplicate segment name 'm'",
    ),
    (root_with(segments={"custom": [{"name": "m"}]}), "segments.custom[0].when: missing"),
    (
        root_with(segments={"custom": [{"name": "m", "when": {"signal": "dwell_ms", "gt": 1}}]}),
        "segments.custom[0].when.signal: 'dwell_ms' is measured on a trigger's target; "
        "a segment can use page-level signals only",
    ),
]


@pytest.mark.parametrize(("obj", "expected"), ROOT_PROBLEMS)
def test_one_root_problem_with_its_path(obj: object, expected: str) -> None:
    assert problems_of(obj) == [expected]


def test_target_level_signal_without_target() -> None:
    assert problems_of(config_with(when={"signal": "dwell_ms", "gte": 2000})) == [
        "triggers[0].target: missing (triggers[0].when uses 'dwell_ms', "
        "which is measured on the target)"
    ]


def test_an_invalid_target_is_not_also_reported_missing() -> None:
    when = {"signal": "dwell_ms", "gte": 2000}
    assert problems_of(config_with(target="", when=when)) == [
        "triggers[0].target: must not be empty"
    ]


def test_duplicate_trigger_id_is_reported_at_the_second() -> None:
    obj = {"version": 1, "triggers": [{"id": i, "when": IDLE} for i in ("a", "b", "a")]}
    assert problems_of(obj) == ["triggers[2].id: duplicate id 'a' (first used at triggers[0].id)"]


def test_custom_segments_may_be_named_in_trigger_overrides() -> None:
    obj = {
        "version": 1,
        "triggers": [{"id": "a", "when": IDLE, "segments": {"mobile": {"hold_ms": 1}}}],
        "segments": {"custom": [{"name": "mobile", "when": {"signal": "pointer", "eq": "touch"}}]},
    }
    assert load_config(obj).triggers[0].segments == (
        ("mobile", Override(frozenset({"hold_ms"}), hold_ms=1.0)),
    )


def test_a_custom_segment_with_a_bad_when_is_still_known_to_triggers() -> None:
    obj = {
        "version": 1,
        "triggers": [{"id": "a", "when": IDLE, "segments": {"mobile": {}}}],
        "segments": {"custom": [{"name": "mobile", "when": {"signal": "pointer", "eq": "x"}}]},
    }
    assert problems_of(obj) == [
        "segments.custom[0].when.eq: expected one of 'mouse', 'pen', 'touch'"
    ]


def test_nesting_limit() -> None:
    deep: dict[str, Any] = IDLE
    for _ in range(MAX_DEPTH - 1):
        deep = {"not": deep}
    assert load_config(config_with(when=deep)).triggers[0].when is not None
    problems = config_problems(config_with(when={"not": deep}))
    assert [p.message for p in problems] == [f"nested too deeply (the limit is {MAX_DEPTH} levels)"]
    assert problems[0].path == "triggers[0].when" + ".not" * MAX_DEPTH


# --- many problems at once ---------------------------------------------------------------


def test_every_problem_is_reported_in_document_order() -> None:
    obj = {
        "triggers": [
            {
                "when": {
                    "all": [{"signal": "pauses", "gte": "2"}, {"signal": "scrol_depth", "lt": 1}]
                },
                "id": "Search",
                "hold_ms": -5,
                "whne": {},
            },
            {"id": "ok", "when": IDLE},
            {"id": "ok", "when": IDLE, "action": {"toast": {}}},
        ],
        "privacy": {"mode": "ldp", "epsilon": -1},
        "extra": True,
    }
    assert problems_of(obj) == [
        "triggers[0].when.all[0].gte: expected a number",
        "triggers[0].when.all[1].signal: unknown signal 'scrol_depth' "
        "(did you mean 'scroll_depth'?)",
        "triggers[0].id: expected 1 to 64 characters from a-z, 0-9, '_' and '-'",
        "triggers[0].hold_ms: must not be negative",
        "triggers[0].whne: unknown field 'whne' (did you mean 'when'?)",
        "triggers[0].target: missing (triggers[0].when.all[0] uses 'pauses', "
        "which is measured on the target)",
        "triggers[2].id: duplicate id 'ok' (first used at triggers[1].id)",
        "triggers[2].action.toast.title: missing",
        "privacy.epsilon: must be greater than 0",
        "extra: unknown field 'extra'",
        "version: missing",
    ]  # fmt: skip
    with pytest.raises(ConfigError) as raised:
        load_config(obj)
    assert [str(p) for p in raised.value.problems] == problems_of(obj)
    assert raised.value.path == "triggers[0].when.all[0].gte"


def test_problems_are_config_problems() -> None:
    assert config_problems(config_with(hold_ms=-1)) == [
        ConfigProblem("triggers[0].hold_ms", "must not be negative")
    ]
    assert config_problems(DESIGN_EXAMPLE) == []


def test_unknown_fields_are_reported_everywhere() -> None:
    obj = copy.deepcopy(DESIGN_EXAMPLE)
    obj["privacy"]["epsilonn"] = 1
    obj["triggers"][0]["gate"]["within"] = 1
    obj["triggers"][0]["when"]["all"][0]["pause"] = 1
    obj["triggers"][0]["action"]["hide"] = "#x"
    assert problems_of(obj) == [
        "privacy.epsilonn: unknown field 'epsilonn' (did you mean 'epsilon'?)",
        "triggers[0].when.all[0].pause: unknown field 'pause' (did you mean 'pause_ms'?)",
        "triggers[0].gate.within: unknown field 'within' (did you mean 'within_ms'?)",
        "triggers[0].action.hide: unknown field 'hide'",
    ]


def test_an_unknown_signal_does_not_cascade_into_its_params() -> None:
    when = {"signal": "pausez", "gte": 2, "pause_ms": 100}
    assert problems_of(config_with(when=when)) == [
        "triggers[0].when.signal: unknown signal 'pausez' (did you mean 'pauses'?)"
    ]


def test_an_unknown_segment_still_has_its_override_checked() -> None:
    assert problems_of(config_with(segments={"pwr": {"hold_ms": -1}})) == [
        "triggers[0].segments.pwr: unknown segment 'pwr' (did you mean 'power'?)",
        "triggers[0].segments.pwr.hold_ms: must not be negative",
    ]


# --- overrides ---------------------------------------------------------------------------


def test_override_null_removes_gate_and_action_unlike_absence() -> None:
    gate = {
        "confirm": ["click"],
        "within_ms": 1000,
        "action": {"class": {"add": "hint", "on": "#q"}},
    }
    trigger = load_config(
        config_with(
            gate=gate,
            action={"show": "#m"},
            segments={
                "new": {"gate": None, "action": None},
                "power": {"when": {"signal": "time_on_page_ms", "gt": 5}, "gate": gate},
                "frustrated": {},
            },
        )
    ).triggers[0]
    assert trigger.gate == Gate(frozenset({"click"}), 1000.0, ClassAction("hint", "#q"))
    new, power, frustrated = (override for _, override in trigger.segments)
    assert new == Override(frozenset({"gate", "action"}), None, None, None, None)
    assert power.fields == frozenset({"when", "gate"})
    assert power.when == Leaf("time_on_page_ms", "gt", 5.0)
    assert power.gate == trigger.gate
    assert frustrated == Override()


def test_override_keys_are_exactly_the_four_fields() -> None:
    override = {"when": IDLE, "hold_ms": 1, "gate": None, "action": None, "target": "#x", "id": "b"}
    assert problems_of(config_with(segments={"new": override})) == [
        "triggers[0].segments.new.target: 'target' cannot be overridden "
        "(only when, hold_ms, gate and action can)",
        "triggers[0].segments.new.id: 'id' cannot be overridden "
        "(only when, hold_ms, gate and action can)",
    ]


# --- JSON text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "invalid JSON: Expecting value at line 1, column 1"),
        ('{"version": 1,\n "triggers": [}', "invalid JSON: Expecting value at line 2, column 15"),
        ('{"version": 1} trailing', "invalid JSON: Extra data at line 1, column 16"),
        ("[" * 100_000, "invalid JSON: nested too deeply"),
    ],
)
def test_json_syntax_errors_are_config_errors_at_the_root(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text)
    assert [str(p) for p in raised.value.problems] == [expected]
    assert raised.value.path == ""


def test_a_field_named_twice_in_json_text_is_a_problem() -> None:
    text = (
        '{"version": 1, "triggers": [{"id": "a", "when": {"signal": "idle_ms", "gte": 1}, '
        '"id": "b"}]}'
    )
    with pytest.raises(ConfigError) as raised:
        parse_config(text)
    assert str(raised.value) == "triggers[0].id: duplicate field 'id'"


def test_nan_and_infinity_in_json_text_are_not_numbers() -> None:
    text = '{"version": 1, "triggers": [{"id": "a", "when": {"signal": "idle_ms", "gte": NaN}}]}'
    with pytest.raises(ConfigError, match=r"triggers\[0\]\.when\.gte: expected a finite number"):
        parse_config(text)


# --- selectors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "#search",
        "input[name='q'], textarea",
        'a[title="x]y"]',
        ".a\\[b",
        "li:nth-child(2n+1) > a",
        ":is(a, b) ~ c",
        "div:has(> img)",
    ],
)
def test_plausible_selectors_pass(text: str) -> None:
    assert selector_problem(text) is None


# --- invalid examples (examples/invalid/NAME.json + NAME.expected) -----------------------


@pytest.mark.parametrize(
    "path", sorted(INVALID_EXAMPLES.glob("*.json")), ids=lambda path: path.stem
)
def test_invalid_examples_report_exactly_the_expected_lines(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    with pytest.raises(ConfigError) as raised:
        parse_config(path.read_text(encoding="utf-8"))
    assert str(raised.value).splitlines() == expected


def test_there_are_invalid_examples() -> None:
    assert len(list(INVALID_EXAMPLES.glob("*.json"))) >= 3


# --- docs/config.md ----------------------------------------------------------------------


def test_the_signal_table_in_the_docs_matches_the_catalog() -> None:
    docs = (ROOT / "docs" / "config.md").read_text("utf-8")
    rows = {}
    for line in docs.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[1] in ("target", "page"):
            rows[cells[0].strip("`")] = cells[1:4]
    assert sorted(rows) == sorted(SIGNALS)
    for name, (level, kind, params) in rows.items():
        spec = SIGNALS[name]
        shown = ", ".join(f"`{p}` ({v:g})" for p, v in sorted(spec.params.items())) or "—"
        assert [level, kind, params] == [spec.level, spec.kind, shown], name


# --- robustness --------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["", "a", "#x", "when", "all", "signal", "gte", "idle_ms", "dwell_ms"])
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["version", "triggers", "id", "when", "target", "all", "not", "signal", "gte",
             "at_least", "of", "within_ms", "gate", "action", "segments", "experiment", "arms",
             "privacy", "mode", "custom", "name"]
        ) | st.text(max_size=6),
        children,
        max_size=5,
    ),
    max_leaves=30,
)  # fmt: skip


def _only_config_errors(obj: object) -> None:
    try:
        config = load_config(obj)
    except ConfigError as error:
        assert error.problems
        assert list(error.problems) == config_problems(obj)
    else:
        assert isinstance(config, Config)
        assert config_problems(obj) == []


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES)
def test_arbitrary_json_only_ever_raises_config_error(obj: object) -> None:
    _only_config_errors(obj)


def _paths(obj: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out += _paths(value, (*prefix, i))
    return out


RICH_VALID: dict[str, Any] = {
    "version": 1,
    "privacy": {"mode": "ldp", "epsilon": 1.0},
    "segments": {
        "thresholds": {"frustrated": {"rage_clicks": 3}, "power": {"keystroke_rate": 4}},
        "custom": [{"name": "mobile", "when": {"signal": "viewport_w", "lt": 600}}],
    },
    "triggers": [
        DESIGN_EXAMPLE["triggers"][0],
        {
            "id": "b",
            "target": "#b",
            "when": {"at_least": 1, "of": [{"not": IDLE}, {"signal": "dwell_ms", "gt": 1}],
                     "within_ms": 9},
            "action": {"toast": {"title": "t", "body": "b", "cta": "c"}},
            "segments": {"mobile": {"gate": None}, "new": {"when": IDLE, "hold_ms": 3}},
            "experiment": {"key": "k", "coverage": 0.5, "arms": [
                {"name": "A", "weight": 0.5},
                {"name": "B", "weight": 0.5,
                 "override": {"action": {"class": {"add": "x", "on": "#b"}}}},
            ]},
        },
    ],
}  # fmt: skip


def test_rich_valid_config_is_valid() -> None:
    assert config_problems(RICH_VALID) == []


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_valid_config_with_any_part_replaced_only_raises_config_error(
    data: st.DataObject,
) -> None:
    obj = copy.deepcopy(RICH_VALID)
    where = data.draw(st.sampled_from(_paths(obj)[1:]))
    parent: Any = obj
    for step in where[:-1]:
        parent = parent[step]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[where[-1]]
    else:
        parent[where[-1]] = data.draw(JSON_VALUES)
    _only_config_errors(obj)


def test_config_needs_only_the_standard_library() -> None:
    """It runs in the browser too: importing it loads pytrigger and stdlib only."""
    code = (
        "import sys; before = set(sys.modules); import pytrigger.config; "
        "print('\\n'.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    outside = [m for m in out if m != "pytrigger" and m not in sys.stdlib_module_names]
    assert outside == []
    assert "js" not in out and "pyodide" not in out
