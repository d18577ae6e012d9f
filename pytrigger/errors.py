"""The one error hierarchy of pytrigger.

Modelled on h11's ``LocalProtocolError``/``RemoteProtocolError`` split: every
error pytrigger raises on purpose derives from :class:`PytriggerError`, and
carries enough to say *where* the problem is.

- :class:`ConfigError` — a config v1 document is invalid.  It holds every
  problem found (the config is rejected as a whole), each with its path into
  the document, e.g. ``triggers[0].when.all[1].gte: expected a number``.
- :class:`EventError` — one trace event is malformed.  Callers that face the
  browser (the worker, ``Engine.feed_json``) drop and count such events instead
  of raising them; ``pytrigger simulate`` reports them with their line number.

Any other exception escaping pytrigger is a bug.
"""

from __future__ import annotations

__all__ = ["ConfigError", "ConfigProblem", "EventError", "PytriggerError"]


class PytriggerError(Exception):
    """Base class of every error pytrigger raises on purpose."""


class ConfigProblem:
    """One problem in a config: where (``path``) and what (``message``)."""

    __slots__ = ("message", "path")

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def __repr__(self) -> str:
        return f"ConfigProblem({self.path!r}, {self.message!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfigProblem) and (self.path, self.message) == (
            other.path,
            other.message,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.message))


class ConfigError(PytriggerError):
    """An invalid config, rejected as a whole.

    ``problems`` lists every problem found, in document order; ``str(error)``
    is one line per problem, ``path: message``.
    """

    def __init__(self, problems: list[ConfigProblem]) -> None:
        if not problems:
            raise ValueError("ConfigError needs at least one problem")
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def path(self) -> str:
        """The path of the first problem (what ``pytrigger:error`` reports)."""
        return self.problems[0].path


class EventError(PytriggerError):
    """A malformed trace event; ``reason`` says what is wrong with it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
