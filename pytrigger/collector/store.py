"""The collector's storage: SQLAlchemy Core over SQLite (default) or PostgreSQL.

Tables:

- ``sites``: name, public key, allowed origins (a JSON list), rate and burst of
  its token bucket, and the SHA-256 of its read token (the token itself is
  printed once and never stored).
- ``reports``: one row per accepted report: the site, the report id (unique per
  site: a re-sent report is stored once), the report's own hour, the hour it
  was received, its privacy mode and ε, and (``unlinkable``) its segment.
  Nothing else: no IP, user agent, cookie or exact time.
- ``report_entries``: one row per (report, trigger, arm) with the counts (or,
  in ``ldp`` mode, the randomized bits) as plain integer columns, so that the
  figures are ``SUM``/``COUNT`` ... ``GROUP BY`` queries that run the same on
  both databases.  Site, mode, ε and hour are copied in, so those queries never
  join.
- ``report_segments``: ``ldp`` reports' randomized one-hot segment bits.

De-duplication is ``INSERT ... ON CONFLICT DO NOTHING`` on (site, report id),
safe with several collector processes sharing one PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from pytrigger.aggregates import COUNT_FIELDS, LATENCY_BUCKETS, SUPPRESS_REASONS

__all__ = [
    "LATENCY_COLUMNS",
    "SUPPRESS_COLUMNS",
    "Site",
    "SiteError",
    "add_site",
    "connect",
    "find_site",
    "insert_report",
    "list_sites",
    "normalize_origin",
    "normalize_url",
    "set_token",
    "token_matches",
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
)


class SiteError(ValueError):
    """A site command's input is invalid (bad name, origin, duplicate...)."""


@dataclass(frozen=True, slots=True)
class Site:
    id: int
    name: str
    key: str
    origins: tuple[str, ...]
    rate: float
    burst: int
    token_hash: str | None


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``.

    >>> normalize_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    >>> normalize_url("sqlite:///pytrigger.db")
    'sqlite:///pytrigger.db'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def normalize_origin(origin: str) -> str:
    """An origin as browsers send it: ``scheme://host[:port]``, lower-case,
    without a default port or path; ``null`` stays ``null``.

    >>> normalize_origin("HTTPS://Example.org:443/")
    'https://example.org'
    """
    if origin == "null":
        return origin
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SiteError(f"origin {origin!r}: expected http(s)://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise SiteError(f"origin {origin!r}: an origin has no path, query or user")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or (parts.scheme, port) in (("http", 80), ("https", 443)):
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def connect(url: str) -> Engine:
    """An engine for ``url`` with the tables created.  SQLite runs in WAL mode
    with a busy timeout; PostgreSQL creates its tables under an advisory lock
    so that several collector processes can start at once."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        metadata.create_all(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(7316327)"))
            metadata.create_all(conn)
    return engine


def _insert(engine: Engine) -> Any:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


def _site(row: Any) -> Site:
    return Site(
        id=row.id,
        name=row.name,
        key=row.key,
        origins=tuple(json.loads(row.origins)),
        rate=row.rate,
        burst=row.burst,
        token_hash=row.token_hash,
    )


def add_site(
    engine: Engine,
    name: str,
    origins: Sequence[str],
    *,
    rate: float = 100.0,
    burst: int = 1000,
    key: str | None = None,
) -> Site:
    """Register a site; its public key is random unless given."""
    from pytrigger.aggregates import NAME_RE, SITE_RE

    if not NAME_RE.fullmatch(name):
        raise SiteError(f"site name {name!r}: expected {NAME_RE.pattern}")
    if not rate > 0 or burst < 1:
        raise SiteError("--rate must be > 0 and --burst at least 1")
    key = key if key is not None else secrets.token_urlsafe(16)
    if not SITE_RE.fullmatch(key):
        raise SiteError(f"site key {key!r}: expected {SITE_RE.pattern}")
    normalized = list(dict.fromkeys(normalize_origin(origin) for origin in origins))
    try:
        with engine.begin() as conn:
            conn.execute(
                sites.insert().values(
                    name=name, key=key, origins=json.dumps(normalized), rate=rate, burst=burst
                )
            )
    except IntegrityError:
        raise SiteError(f"site {name!r} (or its key) exists already") from None
    found = find_site(engine, key)
    assert found is not None
    return found


def find_site(engine: Engine, key_or_name: str, *, by_name: bool = False) -> Site | None:
    """The site with this public key (or, ``by_name``, this name)."""
    column = sites.c.name if by_name else sites.c.key
    with engine.connect() as conn:
        row = conn.execute(select(sites).where(column == key_or_name)).first()
    return None if row is None else _site(row)


def list_sites(engine: Engine) -> list[Site]:
    with engine.connect() as conn:
        return [_site(row) for row in conn.execute(select(sites).order_by(sites.c.name))]


def _hash_token(token: str) -> str:
    # Tokens are 256 random bits: a plain hash is as strong as a slow one here.
    return hashlib.sha256(token.encode()).hexdigest()


def set_token(engine: Engine, name: str) -> str:
    """A new read token for the site (replacing any earlier one)."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        done = conn.execute(
            sites.update().where(sites.c.name == name).values(token_hash=_hash_token(token))
        )
    if done.rowcount != 1:
        raise SiteError(f"no site named {name!r}")
    return token


def token_matches(site: Site, token: str | None) -> bool:
    if token is None or site.token_hash is None:
        return False
    return hmac.compare_digest(_hash_token(token), site.token_hash)


def insert_report(engine: Engine, site_id: int, report: dict[str, Any], received_hour: int) -> bool:
    """Store a valid report; False when the site already has its report id."""
    privacy = report["privacy"]
    ldp = privacy["mode"] == "ldp"
    epsilon = float(privacy["epsilon"]) if ldp else None
    hour = int(report["hour"])
    common = {"site_id": site_id, "mode": privacy["mode"], "epsilon": epsilon, "hour": hour}
    statement = (
        _insert(engine)(reports)
        .values(
            report_id=report["report_id"],
            received_hour=received_hour,
            segment=None if ldp else report["segment"],
            **common,
        )
        .on_conflict_do_nothing(index_elements=["site_id", "report_id"])
        .returning(reports.c.id)
    )
    with engine.begin() as conn:
        report_pk = conn.execute(statement).scalar_one_or_none()
        if report_pk is None:
            return False
        rows = [
            _entry_row(entry, ldp) | common | {"report_pk": report_pk}
            for entry in report["triggers"]
        ]
        if rows:
            conn.execute(report_entries.insert(), rows)
        if ldp and report["segment"]:
            conn.execute(
                report_segments.insert(),
                [
                    {
                        "report_pk": report_pk,
                        "site_id": site_id,
                        "epsilon": epsilon,
                        "hour": hour,
                        "name": name,
                        "bit": int(bit),
                    }
                    for name, bit in report["segment"].items()
                ],
            )
    return True


def _entry_row(entry: dict[str, Any], ldp: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"trigger": entry["trigger"], "arm": entry["arm"]}
    row.update((name, int(entry[name])) for name in COUNT_FIELDS)
    row.update(
        (column, int(entry["suppressed"][reason]))
        for column, reason in zip(SUPPRESS_COLUMNS, SUPPRESS_REASONS, strict=True)
    )
    latency = [int(count) for count in entry["latency"]]
    row.update(zip(LATENCY_COLUMNS, latency, strict=True))
    row["latency_median"] = None if ldp else _median_bucket(latency)
    return row


def _median_bucket(histogram: list[int]) -> int | None:
    total = sum(histogram)
    if total == 0:
        return None
    rank, seen = (total + 1) // 2, 0
    for bucket, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return bucket
    return None


def count_reports(engine: Engine, site_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(reports).where(reports.c.site_id == site_id)
            ).scalar_one()
        )
