"""The collector's tables (SQLAlchemy Core, the same on SQLite and
PostgreSQL); the queries are in :mod:`pytrigger.collector.store`.

- ``sites``: name, public key, allowed origins (a JSON list), rate and burst of
  its token bucket, and the SHA-256 of its read token (the token itself is
  printed once and never stored).
- ``reports``: one row per page session: the site, the report id (unique per
  site), the snapshot number ``seq`` of the report stored, the report's own
  hour, the hour it was received, its privacy mode and ε, and
  (``unlinkable``) its segment.  Nothing else: no IP, user agent, cookie or
  exact time.
- ``report_entries``: one row per (report, trigger, arm) with the counts (or,
  in ``ldp`` mode, the randomized bits) as plain integer columns, so that the
  figures are ``SUM``/``COUNT`` ... ``GROUP BY`` queries that run the same on
  both databases.  Site, mode, ε and hour are copied in, so those queries never
  join.
- ``report_segments``: ``ldp`` reports' randomized one-hot segment bits.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pytrigger.aggregates import COUNT_FIELDS, LATENCY_BUCKETS, SUPPRESS_REASONS

__all__ = [
    "LATENCY_COLUMNS",
    "SUPPRESS_COLUMNS",
    "metadata",
    "report_entries",
    "report_segments",
    "reports",
    "sites",
]

_PK = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER only
SUPPRESS_COLUMNS = tuple(f"suppressed_{reason}" for reason in SUPPRESS_REASONS)
LATENCY_COLUMNS = tuple(f"latency_{i}" for i in range(LATENCY_BUCKETS))

metadata = MetaData()

sites = Table(
    "sites",
    metadata,
    Column("id", _PK, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("origins", Text, nullable=False),
    Column("rate", Float, nullable=False),
    Column("burst", Integer, nullable=False),
    Column("token_hash", String(64)),
)

reports = Table(
    "reports",
    metadata,
    Column("id", _PK, primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("report_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("received_hour", Integer, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("epsilon", Float),
    Column("segment", String(64)),
    UniqueConstraint("site_id", "report_id", name="uq_reports_site_report"),
    Index("ix_reports_site_mode_hour", "site_id", "mode", "hour"),
)

report_entries = Table(
    "report_entries",
    metadata,
    Column("id", _PK, primary_key=True),
    Column("report_pk", ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("epsilon", Float),
    Column("hour", Integer, nullable=False),
    Column("trigger", String(64), nullable=False),
    Column("arm", String(64)),
    *(Column(name, Integer, nullable=False) for name in COUNT_FIELDS),
    *(Column(name, Integer, nullable=False) for name in SUPPRESS_COLUMNS),
    *(Column(name, Integer, nullable=False) for name in LATENCY_COLUMNS),
    # unlinkable: the bucket of the session's median latency (None: no sample)
    Column("latency_median", Integer),
    Index("ix_entries_site_mode_hour", "site_id", "mode", "hour"),
    Index("ix_entries_report", "report_pk"),  # a replaced snapshot's rows are deleted by it
)

report_segments = Table(
    "report_segments",
    metadata,
    Column("id", _PK, primary_key=True),
    Column("report_pk", ForeignKey("reports.id", ondelete="CASCADE"), nullable=False),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
    Column("epsilon", Float, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("name", String(64), nullable=False),
    Column("bit", Integer, nullable=False),
    Index("ix_segments_site_hour", "site_id", "hour"),
    Index("ix_segments_report", "report_pk"),
)
