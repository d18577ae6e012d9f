"""The per-page-session aggregate report: built in the browser, checked on both sides.

Theory of operation.  The engine's caller feeds an :class:`AggregateBuilder`
what happened in one page session — exposures, decisions, dismissals, goals,
decision latencies, the visitor's segment — and :meth:`AggregateBuilder.build`
turns that into the report of DESIGN.md §7, the only thing pytrigger ever sends
(``pytrigger/collector/report.schema.json`` is its JSON Schema).

- ``unlinkable`` mode: per (trigger, arm) counts, clipped at
  :data:`MAX_COUNT`, listed only for the pairs with some activity; the segment
  by name.
- ``ldp`` mode: every per-session field reduced to a bit (a count to "at least
  once", the latency histogram to the one-hot bucket of the session's median
  latency, the segment to one-hot over the config's segments) and each bit
  sent through randomized response (:mod:`pytrigger.privacy`).  The entries
  are the config's full list of triggers x arms, always in the same order, so
  which entries are present says nothing.

The report id is the only random identifier; it is drawn once per builder, so
a report built again later in the same session (a long session's periodic
snapshot) keeps its id.  Each snapshot carries its number ``seq`` (0, 1, 2,
...; the caller counts), and the collector keeps the latest.  In ``ldp`` mode
each bit keeps its randomization for as long as its true value does
("permanent" randomized response, as in RAPPOR): re-sending a snapshot never
lets the noise be averaged away.

:func:`check_report` is the stdlib twin of the JSON Schema, plus the one rule
JSON Schema cannot state (each (trigger, arm) pair at most once).

Standard library only and sans-IO: the clock and the randomness come in as
arguments.
"""

from __future__ import annotations

import bisect
import math
import random
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pytrigger.decisions import Decision
from pytrigger.privacy import PermanentResponse, report_epsilon
from pytrigger.triggers import BUILTIN_SEGMENTS, CONTEXTS, DEFAULT_LDP_EPSILON, Config, Privacy

__all__ = [
    "COUNT_FIELDS",
    "EPSILON_RANGE",
    "LATENCY_BUCKETS",
    "LATENCY_EDGES_MS",
    "MAX_COUNT",
    "MAX_ENTRIES",
    "MAX_REPORT_BYTES",
    "MAX_SEGMENTS",
    "MAX_SEQ",
    "SCHEMA_VERSION",
    "SUPPRESS_REASONS",
    "AggregateBuilder",
    "check_report",
    "latency_bucket",
    "report_entries",
    "segment_names",
]

#: the report format's version (``schema`` field)
SCHEMA_VERSION = 1
#: per-(trigger, arm) counters, in wire order
COUNT_FIELDS: tuple[str, ...] = ("exposure", "gate", "fire", "expire", "dismiss", "goal")
#: ``suppressed`` reasons, in wire order
SUPPRESS_REASONS: tuple[str, ...] = ("cooldown", "max_per_session", *CONTEXTS)
#: latency bucket edges (ms): powers of two from 1 to 4096, plus overflow
LATENCY_EDGES_MS: tuple[int, ...] = tuple(2**i for i in range(13))
LATENCY_BUCKETS = len(LATENCY_EDGES_MS) + 1
#: counts are clipped at this value
MAX_COUNT = 1000
#: trigger/arm pairs per report
MAX_ENTRIES = 128
#: segments a config may declare (built-in ones included)
MAX_SEGMENTS = 32
#: the largest report body the collector accepts
MAX_REPORT_BYTES = 64 * 1024
#: the largest snapshot number (``seq``) of a page session's reports
MAX_SEQ = 100_000
#: trigger ids, segment names
NAME_RE = re.compile(r"[a-z0-9_-]{1,64}")
#: experiment arm names
ARM_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: public site keys
SITE_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_REPORT_ID_RE = re.compile(r"[0-9a-f]{32}")
_MAX_HOUR = 10_000_000
#: the range of ε per bit a report may declare
EPSILON_RANGE = (0.01, 10.0)
_EPS_LOW, _EPS_HIGH = EPSILON_RANGE
_MAX_EPS_REPORT = 100_000
_MS_PER_HOUR = 3_600_000.0
EntryKey = tuple[str, str | None]


def latency_bucket(ms: float) -> int:
    """The histogram bucket of a latency: 0 for [0, 1) ms, i for
    [2^(i-1), 2^i) ms (i = 1..12), 13 for 4096 ms and more.

    >>> [latency_bucket(ms) for ms in (0.4, 1, 3.9, 200, 4095.9, 4096, 1e9)]
    [0, 1, 2, 8, 12, 13, 13]
    """
    return bisect.bisect_right(LATENCY_EDGES_MS, ms)


def report_entries(config: Config) -> list[tuple[str, list[str | None]]]:
    """The (trigger id, arm names) list of a config, for :class:`AggregateBuilder`.

    A trigger without an experiment has the one arm ``None``; one with an
    experiment has its arms, and ``None`` too when the coverage is below 1
    (a unit outside it gets the trigger without the experiment)."""
    out: list[tuple[str, list[str | None]]] = []
    for trigger in config.triggers:
        experiment = trigger.experiment
        if experiment is None:
            out.append((trigger.id, [None]))
            continue
        arms: list[str | None] = [arm.name for arm in experiment.arms]
        if experiment.coverage < 1:
            arms.append(None)
        out.append((trigger.id, arms))
    return out


def segment_names(config: Config) -> list[str]:
    """The segments a visitor of this config may be given, for
    :class:`AggregateBuilder`: the built-in ones, then the site's own."""
    return [*BUILTIN_SEGMENTS, *(segment.name for segment in config.segments.custom)]


class _Entry:
    """Counts of one (trigger, arm) pair in one page session (unclipped)."""

    __slots__ = ("counts", "latency", "suppressed")

    def __init__(self) -> None:
        self.counts = dict.fromkeys(COUNT_FIELDS, 0)
        self.suppressed = dict.fromkeys(SUPPRESS_REASONS, 0)
        self.latency = [0] * LATENCY_BUCKETS

    def active(self) -> bool:
        return any(self.counts.values()) or any(self.suppressed.values()) or any(self.latency)

    def median_bucket(self) -> int | None:
        """The bucket holding the (lower) median latency sample, if any."""
        total = sum(self.latency)
        if total == 0:
            return None
        rank = (total + 1) // 2
        seen = 0
        for bucket, count in enumerate(self.latency):
            seen += count
            if seen >= rank:
                return bucket
        raise AssertionError("unreachable: the ranks add up to total")

    def bits(self) -> list[int]:
        """This entry's true bits, in wire order: counts, suppressed reasons,
        then the one-hot median latency bucket."""
        out = [int(self.counts[name] > 0) for name in COUNT_FIELDS]
        out += [int(self.suppressed[reason] > 0) for reason in SUPPRESS_REASONS]
        median = self.median_bucket()
        out += [int(bucket == median) for bucket in range(LATENCY_BUCKETS)]
        return out


_BITS_PER_ENTRY = len(COUNT_FIELDS) + len(SUPPRESS_REASONS) + LATENCY_BUCKETS


class AggregateBuilder:
    """Collects one page session's aggregates and builds its report.

    ``triggers`` is the config's list of (trigger id, arm names), ``[None]``
    for a trigger without experiment (see :func:`report_entries`);
    ``segments`` the segment names the visitor may be given, in config order.
    A call naming a (trigger, arm) pair, a reason or a segment outside these is
    a bug upstream: it is ignored and counted in :attr:`ignored`, never raised
    into the page.

    >>> import random
    >>> builder = AggregateBuilder("demo", Privacy(), [("help", [None])], ["new"])
    >>> builder.exposure("help", None)
    >>> builder.decision(Decision(10.0, "help", "fire"))
    >>> builder.latency("help", None, 12.5, replayed=False)
    >>> builder.goal("signup")
    >>> report = builder.build(3_600_000 * 480_000 + 5.0, random.Random(1))
    >>> report["hour"], report["segment"], report["triggers"][0]["goal"]
    (480000, None, 1)
    >>> report["triggers"][0]["latency"][latency_bucket(12.5)]
    1
    >>> check_report(report)
    []
    """

    def __init__(
        self,
        site: str,
        privacy: Privacy,
        triggers: Iterable[tuple[str, Sequence[str | None]]],
        segments: Sequence[str] = (),
    ) -> None:
        if not isinstance(site, str) or not SITE_RE.fullmatch(site):
            raise ValueError(f"site key {site!r} does not match {SITE_RE.pattern}")
        self.site = site
        self.privacy = privacy
        self.epsilon: float | None = None
        if privacy.mode == "ldp":
            self.epsilon = DEFAULT_LDP_EPSILON if privacy.epsilon is None else privacy.epsilon
            if not _EPS_LOW <= self.epsilon <= _EPS_HIGH:
                raise ValueError(f"epsilon per bit must be from {_EPS_LOW} to {_EPS_HIGH}")
        self._entries: dict[EntryKey, _Entry] = {}
        for trigger_id, arms in triggers:
            if not NAME_RE.fullmatch(trigger_id):
                raise ValueError(f"trigger id {trigger_id!r} does not match {NAME_RE.pattern}")
            for arm in arms:
                if arm is not None and not ARM_RE.fullmatch(arm):
                    raise ValueError(f"arm {arm!r} does not match {ARM_RE.pattern}")
                if (trigger_id, arm) in self._entries:
                    raise ValueError(f"duplicate entry {(trigger_id, arm)!r}")
                self._entries[(trigger_id, arm)] = _Entry()
        if len(self._entries) > MAX_ENTRIES:
            raise ValueError(f"{len(self._entries)} trigger/arm pairs; at most {MAX_ENTRIES}")
        for name in segments:
            if not NAME_RE.fullmatch(name):
                raise ValueError(f"segment {name!r} does not match {NAME_RE.pattern}")
        if len(set(segments)) != len(segments) or len(segments) > MAX_SEGMENTS:
            raise ValueError(f"segments must be distinct and at most {MAX_SEGMENTS}")
        self.segments = tuple(segments)
        self.segment: str | None = None
        #: calls that named an unknown pair, reason or segment (bugs upstream)
        self.ignored = 0
        self._arm_of: dict[str, str | None] = {}
        self._fired: dict[EntryKey, None] = {}  # insertion-ordered set
        self._report_id: str | None = None
        self._noise: PermanentResponse | None = None

    # -- what happened -----------------------------------------------------

    def _entry(self, trigger: str, variant: str | None) -> _Entry | None:
        entry = self._entries.get((trigger, variant))
        if entry is None:
            self.ignored += 1
        else:
            self._arm_of[trigger] = variant
        return entry

    def exposure(self, trigger: str, variant: str | None) -> None:
        """The trigger's (arm's) condition became true for the first time in
        this page session (the caller decides "first"; DESIGN.md §6)."""
        entry = self._entry(trigger, variant)
        if entry is not None:
            entry.counts["exposure"] += 1

    def decision(self, decision: Decision) -> None:
        """Count a ``gate``/``fire``/``expire``/``suppressed`` decision under
        its trigger and ``variant``; a ``fire`` makes later goals count."""
        entry = self._entry(decision.trigger, decision.variant)
        if entry is None:
            return
        if decision.kind == "suppressed":
            if decision.reason in entry.suppressed:
                entry.suppressed[decision.reason] += 1
            else:
                self.ignored += 1
            return
        entry.counts[decision.kind] += 1
        if decision.kind == "fire":
            self._fired[(decision.trigger, decision.variant)] = None

    def dismiss(self, trigger: str) -> None:
        """The visitor closed the trigger's intervention; counted under the
        arm the trigger last acted in."""
        entry = self._entry(trigger, self._arm_of.get(trigger))
        if entry is not None:
            entry.counts["dismiss"] += 1

    def goal(self, name: str) -> None:
        """A conversion: counts once for every (trigger, arm) that fired earlier
        in this page session.  The goal's ``name`` is site-chosen text and is
        not sent: goals are counted in total (docs/privacy.md)."""
        del name
        for key in self._fired:
            self._entries[key].counts["goal"] += 1

    def latency(self, trigger: str, variant: str | None, ms: float, replayed: bool) -> None:
        """One decision's latency (ms from its moment to its action being
        applied).  Replayed decisions, and non-finite values, are left out."""
        if replayed or not math.isfinite(ms):
            return
        entry = self._entry(trigger, variant)
        if entry is not None:
            entry.latency[latency_bucket(max(0.0, ms))] += 1

    def set_segment(self, name: str | None) -> None:
        """The visitor's segment for this session (``None``: no segment)."""
        if name is not None and name not in self.segments:
            self.ignored += 1
            name = None
        self.segment = name

    # -- the report --------------------------------------------------------

    @property
    def report_epsilon(self) -> float | None:
        """The ε of one whole ``ldp`` report (``None`` in ``unlinkable``):
        13 independent bits per entry (six counts, seven reasons) plus one
        one-hot latency block per entry and the one-hot segment block."""
        if self.epsilon is None:
            return None
        independent = (len(COUNT_FIELDS) + len(SUPPRESS_REASONS)) * len(self._entries)
        blocks = len(self._entries) + (1 if self.segments else 0)
        return report_epsilon(self.epsilon, independent_bits=independent, one_hot_blocks=blocks)

    def build(
        self, now_ms_since_epoch: float, rng: random.Random, *, seq: int = 0
    ) -> dict[str, Any]:
        """The report as of now (a dict ready for ``json.dumps``).

        ``seq`` is the snapshot's number within the page session (0 for the
        first, then 1, 2, ... up to :data:`MAX_SEQ`): under one report id the
        collector keeps the report with the highest ``seq``.  The caller
        counts, as it is the one that sends; a ``seq`` out of range is a bug
        upstream and raises :class:`ValueError`.

        The first call draws the report id (and, in ``ldp`` mode, all the
        randomization) from ``rng``; later calls draw nothing."""
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
            raise ValueError(f"seq {seq!r}: expected an integer from 0 to {MAX_SEQ}")
        if self._report_id is None:
            self._report_id = f"{rng.getrandbits(128):032x}"
            if self.epsilon is not None:
                size = _BITS_PER_ENTRY * len(self._entries) + len(self.segments)
                self._noise = PermanentResponse(self.epsilon, size, rng)
        report: dict[str, Any] = {
            "schema": SCHEMA_VERSION,
            "site": self.site,
            "report_id": self._report_id,
            "seq": seq,
            "hour": int(now_ms_since_epoch // _MS_PER_HOUR),
        }
        if self._noise is None:
            report["privacy"] = {"mode": "unlinkable"}
            report["segment"] = self.segment
            report["triggers"] = [
                _count_entry(key, entry) for key, entry in self._entries.items() if entry.active()
            ]
        else:
            report["privacy"] = {
                "mode": "ldp",
                "epsilon": self.epsilon,
                "report_epsilon": self.report_epsilon,
            }
            noise = self._noise
            position = 0
            entries = []
            for key, entry in self._entries.items():
                bits = [noise.respond(position + i, bit) for i, bit in enumerate(entry.bits())]
                position += _BITS_PER_ENTRY
                entries.append(_bit_entry(key, bits))
            report["segment"] = {
                name: noise.respond(position + i, int(name == self.segment))
                for i, name in enumerate(self.segments)
            }
            report["triggers"] = entries
        return report


def _count_entry(key: EntryKey, entry: _Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"trigger": key[0], "arm": key[1]}
    for name in COUNT_FIELDS:
        out[name] = min(entry.counts[name], MAX_COUNT)
    out["suppressed"] = {r: min(entry.suppressed[r], MAX_COUNT) for r in SUPPRESS_REASONS}
    out["latency"] = [min(count, MAX_COUNT) for count in entry.latency]
    return out


def _bit_entry(key: EntryKey, bits: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"trigger": key[0], "arm": key[1]}
    n_counts = len(COUNT_FIELDS)
    n_reasons = len(SUPPRESS_REASONS)
    out.update(zip(COUNT_FIELDS, bits[:n_counts], strict=True))
    out["suppressed"] = dict(
        zip(SUPPRESS_REASONS, bits[n_counts : n_counts + n_reasons], strict=True)
    )
    out["latency"] = bits[n_counts + n_reasons :]
    return out


# -- check_report: the JSON Schema's rules, in the standard library ---------

_REPORT_KEYS = ("schema", "site", "report_id", "seq", "hour", "privacy", "segment", "triggers")
_ENTRY_KEYS = ("trigger", "arm", *COUNT_FIELDS, "suppressed", "latency")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    if isinstance(value, int):  # float() of a huge int would overflow
        return not isinstance(value, bool)
    return isinstance(value, float) and value.is_integer()


def _is_bit(value: object) -> bool:
    return _is_number(value) and value in (0, 1)


def _is_count(value: object) -> bool:
    return _is_int(value) and 0 <= value <= MAX_COUNT  # type: ignore[operator]


def _matches(value: object, pattern: re.Pattern[str]) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _keys(obj: dict[str, Any], allowed: Sequence[str], path: str, problems: list[str]) -> None:
    prefix = f"{path}." if path else ""
    problems.extend(f"{prefix}{key}: unexpected field" for key in obj if key not in allowed)
    problems.extend(f"{prefix}{key}: required" for key in allowed if key not in obj)


def _check_privacy(value: object, problems: list[str]) -> None:
    if isinstance(value, dict) and value.get("mode") == "unlinkable":
        _keys(value, ("mode",), "privacy", problems)
    elif isinstance(value, dict) and value.get("mode") == "ldp":
        _keys(value, ("mode", "epsilon", "report_epsilon"), "privacy", problems)
        epsilon = value.get("epsilon", 1.0)
        if not (_is_number(epsilon) and _EPS_LOW <= epsilon <= _EPS_HIGH):
            problems.append(f"privacy.epsilon: expected a number from {_EPS_LOW} to {_EPS_HIGH}")
        total = value.get("report_epsilon", 1.0)
        if not (_is_number(total) and 0 < total <= _MAX_EPS_REPORT):
            problems.append(f"privacy.report_epsilon: expected a number in (0, {_MAX_EPS_REPORT}]")
    else:
        problems.append('privacy: expected {"mode": "unlinkable"} or {"mode": "ldp", ...}')


def _check_entry(entry: object, path: str, ldp: bool, problems: list[str]) -> None:
    if not isinstance(entry, dict):
        problems.append(f"{path}: expected an object")
        return
    _keys(entry, _ENTRY_KEYS, path, problems)
    valid, what = (_is_bit, "0 or 1") if ldp else (_is_count, f"an integer from 0 to {MAX_COUNT}")
    if "trigger" in entry and not _matches(entry["trigger"], NAME_RE):
        problems.append(f"{path}.trigger: expected a string matching {NAME_RE.pattern}")
    arm = entry.get("arm")
    if arm is not None and not _matches(arm, ARM_RE):
        problems.append(f"{path}.arm: expected null or a string matching {ARM_RE.pattern}")
    problems.extend(
        f"{path}.{name}: expected {what}"
        for name in COUNT_FIELDS
        if name in entry and not valid(entry[name])
    )
    suppressed = entry.get("suppressed", {})
    if isinstance(suppressed, dict):
        _keys(suppressed, SUPPRESS_REASONS, f"{path}.suppressed", problems)
        problems.extend(
            f"{path}.suppressed.{reason}: expected {what}"
            for reason in SUPPRESS_REASONS
            if reason in suppressed and not valid(suppressed[reason])
        )
    else:
        problems.append(f"{path}.suppressed: expected an object")
    latency = entry.get("latency", [0] * LATENCY_BUCKETS)
    if not isinstance(latency, list) or len(latency) != LATENCY_BUCKETS:
        problems.append(f"{path}.latency: expected an array of {LATENCY_BUCKETS} items")
    else:
        problems.extend(
            f"{path}.latency[{i}]: expected {what}" for i, v in enumerate(latency) if not valid(v)
        )


def check_report(obj: object) -> list[str]:
    """Every way ``obj`` is not a valid report, one ``path: problem`` string
    each (empty when it is valid).  The same rules as ``report.schema.json``,
    plus: each (trigger, arm) pair at most once.

    >>> check_report({"schema": 1})[:2]
    ['site: required', 'report_id: required']
    """
    if not isinstance(obj, dict):
        return ["expected an object"]
    problems: list[str] = []
    _keys(obj, _REPORT_KEYS, "", problems)
    if "schema" in obj and not (_is_number(obj["schema"]) and obj["schema"] == SCHEMA_VERSION):
        problems.append(f"schema: expected {SCHEMA_VERSION}")
    if "site" in obj and not _matches(obj["site"], SITE_RE):
        problems.append(f"site: expected a string matching {SITE_RE.pattern}")
    if "report_id" in obj and not _matches(obj["report_id"], _REPORT_ID_RE):
        problems.append("report_id: expected 32 lowercase hex digits")
    seq = obj.get("seq", 0)
    if not (_is_int(seq) and 0 <= seq <= MAX_SEQ):
        problems.append(f"seq: expected an integer from 0 to {MAX_SEQ}")
    hour = obj.get("hour", 0)
    if not (_is_int(hour) and 0 <= hour <= _MAX_HOUR):
        problems.append(f"hour: expected an integer from 0 to {_MAX_HOUR}")
    if "privacy" in obj:
        _check_privacy(obj["privacy"], problems)
    privacy = obj.get("privacy")
    ldp = isinstance(privacy, dict) and privacy.get("mode") == "ldp"
    segment = obj.get("segment")
    if ldp and not (
        isinstance(segment, dict)
        and len(segment) <= MAX_SEGMENTS
        and all(_matches(k, NAME_RE) and _is_bit(v) for k, v in segment.items())
    ):
        problems.append(f"segment: expected at most {MAX_SEGMENTS} segment names mapped to 0 or 1")
    if not ldp and segment is not None and not _matches(segment, NAME_RE):
        problems.append(f"segment: expected null or a string matching {NAME_RE.pattern}")
    entries = obj.get("triggers", [])
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        problems.append(f"triggers: expected an array of at most {MAX_ENTRIES} entries")
        return problems
    seen: set[tuple[object, object]] = set()
    for i, entry in enumerate(entries):
        _check_entry(entry, f"triggers[{i}]", ldp, problems)
        if isinstance(entry, dict) and isinstance(entry.get("trigger"), str):
            key = (entry["trigger"], entry.get("arm"))
            if not isinstance(key[1], str | None):
                continue
            if key in seen:
                problems.append(f"triggers[{i}]: duplicate (trigger, arm) pair {key!r}")
            seen.add(key)
    return problems
