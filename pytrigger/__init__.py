"""pytrigger: a privacy-first micro-moment trigger engine.

The engine turns input events (trace format v1) into trigger decisions, with
no clock, no timers and no I/O of its own (sans-IO): feed it events, ask it for
its next deadline, call it back then.

>>> from pytrigger import Engine, Event, load_config
>>> config = load_config({"version": 1, "triggers": [
...     {"id": "help", "target": ".buy", "when": {"signal": "rage_clicks", "gte": 3}}]})
>>> engine = Engine(config)
>>> decisions = []
>>> for t in (1000.0, 1200.0, 1400.0):
...     decisions += engine.feed(Event(t, "click", targets=("help",), x=10.0, y=10.0))
>>> [d.to_json() for d in decisions]
[{'t': 1400.0, 'trigger': 'help', 'decision': 'fire'}]
"""

from pytrigger.conditions import All, AnyOf, AtLeast, Condition, Leaf, Not
from pytrigger.config import config_problems, load_config, parse_config
from pytrigger.decisions import Decision, DecisionKind
from pytrigger.engine import Engine, Exposure
from pytrigger.errors import ConfigError, ConfigProblem, EventError, PytriggerError
from pytrigger.events import Event, parse_event
from pytrigger.experiments import assign, effective_trigger
from pytrigger.triggers import (
    Action,
    Arm,
    ClassAction,
    Config,
    Experiment,
    Gate,
    Override,
    Privacy,
    ShowAction,
    ToastAction,
    Trigger,
)

__version__ = "0.1.0"

__all__ = [
    "Action",
    "All",
    "AnyOf",
    "Arm",
    "AtLeast",
    "ClassAction",
    "Condition",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "Decision",
    "DecisionKind",
    "Engine",
    "Event",
    "EventError",
    "Experiment",
    "Exposure",
    "Gate",
    "Leaf",
    "Not",
    "Override",
    "Privacy",
    "PytriggerError",
    "ShowAction",
    "ToastAction",
    "Trigger",
    "__version__",
    "assign",
    "config_problems",
    "effective_trigger",
    "load_config",
    "parse_config",
    "parse_event",
]
