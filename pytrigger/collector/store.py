"""The collector's storage: SQLAlchemy Core over SQLite (default) or PostgreSQL.

Tables: :mod:`pytrigger.collector.tables`.

Latest snapshot wins (:func:`insert_report`): a long session sends its report
every 5 minutes and at ``pagehide``, all under one report id with an
increasing ``seq``.  A new (site, report id) is stored; one stored with a
smaller ``seq`` is replaced, its entries and segment bits with it, in one
transaction; one stored with an equal or greater ``seq`` is a duplicate and
changes nothing.  The decision is one conditional upsert,
``INSERT ... ON CONFLICT (site_id, report_id) DO UPDATE ... WHERE reports.seq <
excluded.seq``, so it is atomic on both databases: PostgreSQL locks the
conflicting row until the transaction ends and re-checks the condition
against its latest version (several collector processes can receive
snapshots of one session at once), and SQLite runs one writer at a time.
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
    Connection,
    Engine,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.exc import IntegrityError

from pytrigger.aggregates import COUNT_FIELDS, SUPPRESS_REASONS
from pytrigger.collector.database import normalize_url, open_engine, write_transaction
from pytrigger.collector.tables import (
    LATENCY_COLUMNS,
    SUPPRESS_COLUMNS,
    metadata,
    report_entries,
    report_segments,
    reports,
    sites,
)

__all__ = [
    "LATENCY_COLUMNS",
    "SUPPRESS_COLUMNS",
    "Received",
    "Site",
    "SiteError",
    "add_site",
    "connect",
    "find_site",
    "insert_report",
    "insert_reports",
    "list_sites",
    "normalize_origin",
    "normalize_url",
    "report_entries",
    "report_segments",
    "reports",
    "set_token",
    "sites",
    "token_matches",
]


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
    """An engine for ``url`` with the tables created
    (:func:`pytrigger.collector.database.open_engine`)."""
    return open_engine(url, metadata)


def _json_insert(table: Table) -> Any:
    """PostgreSQL: ``INSERT INTO table SELECT ... FROM
    json_populate_recordset(NULL::table, :rows)``, all columns but ``id``:
    a batch of any size is one statement of the same text (prepared once by
    psycopg) with one parameter, the rows as a JSON array, encoded by the
    standard library's C encoder.  A multi-row ``VALUES`` would be a new
    statement per batch size; an array per column costs psycopg about twice
    the CPU for the same server time.  The rows come out in the array's
    order (the upsert's lock order)."""
    columns = [column.name for column in table.c if column.name != "id"]
    batch = func.json_populate_recordset(
        literal_column(f"NULL::{table.name}"), cast(bindparam("rows", type_=Text), JSON)
    ).table_valued(*columns, name="batch")
    return postgresql.insert(table).from_select(columns, select(*(batch.c[c] for c in columns)))


def _upsert(statement: Any) -> Any:
    """The latest-snapshot-wins upsert of ``reports`` rows, their values
    given at execution; built once per dialect (building it costs more than
    running it on SQLite)."""
    replaced = ("seq", "hour", "received_hour", "mode", "epsilon", "segment")
    return statement.on_conflict_do_update(
        index_elements=["site_id", "report_id"],
        set_={name: statement.excluded[name] for name in replaced},
        where=reports.c.seq < statement.excluded.seq,
    ).returning(reports.c.id, reports.c.site_id, reports.c.report_id)


#: per dialect: the reports upsert, and the inserts of entries and segment bits
_UPSERT = {
    "postgresql": _upsert(_json_insert(reports)),
    "sqlite": _upsert(sqlite.insert(reports)),
}
_INSERT = {
    "postgresql": {t: _json_insert(t) for t in (report_entries, report_segments)},
    "sqlite": {t: t.insert() for t in (report_entries, report_segments)},
}
_DELETE_ENTRIES = report_entries.delete().where(
    report_entries.c.report_pk.in_(bindparam("pks", expanding=True))
)
_DELETE_SEGMENTS = report_segments.delete().where(
    report_segments.c.report_pk.in_(bindparam("pks", expanding=True))
)


def _write(conn: Connection, statement: Any, rows: list[dict[str, Any]]) -> Any:
    """Execute ``statement`` for ``rows``: on PostgreSQL once, with the rows
    as one JSON array (:func:`_json_insert`); on SQLite as an executemany
    (SQLAlchemy's "insertmanyvalues" for the upsert's ``RETURNING``)."""
    if conn.dialect.name == "postgresql":
        return conn.execute(statement, {"rows": json.dumps(rows)})
    return conn.execute(statement, rows)


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


@dataclass(frozen=True, slots=True)
class Received:
    """A valid report to store, for :func:`insert_reports`."""

    site_id: int
    report: dict[str, Any]
    received_hour: int


def insert_report(engine: Engine, site_id: int, report: dict[str, Any], received_hour: int) -> bool:
    """Store a valid report, or replace the stored snapshot of its session.

    True when the report was stored: its (site, report id) was new, or was
    stored with a smaller ``seq`` (the old report, entries and segment bits
    are replaced in this one transaction).  False for a duplicate: the stored
    report's ``seq`` is equal or greater, and nothing changes."""
    return insert_reports(engine, [Received(site_id, report, received_hour)])[0]


def insert_reports(engine: Engine, batch: Sequence[Received]) -> list[bool]:
    """Store a batch of valid reports in one transaction, as if stored one
    after the other in this order: for each, whether it is stored at the end.

    Within the batch, the report with the greatest ``seq`` of its (site,
    report id) -- the first of them, on a tie -- is the only one written
    (the others would have been replaced by it, or be its duplicates), and
    it is written as :func:`insert_report` would.  The reports are upserted
    in one statement, in (site, report id) order, so that concurrent batches
    of several processes lock their rows in the same order and cannot
    deadlock; the entries and segment bits of every stored report follow in
    one statement each.  On any error the transaction is rolled back whole:
    nothing of the batch is stored."""
    winners: dict[tuple[int, str], int] = {}
    for index, item in enumerate(batch):
        key = (item.site_id, item.report["report_id"])
        best = winners.get(key)
        if best is None or int(item.report["seq"]) > int(batch[best].report["seq"]):
            winners[key] = index
    order = sorted(winners.items())
    stored = [False] * len(batch)
    with write_transaction(engine) as conn:
        dialect = conn.dialect.name
        report_rows = [_report_row(batch[index]) for _, index in order]
        rows = _write(conn, _UPSERT[dialect], report_rows).all()
        if not rows:
            return stored  # every one was stored already, with its seq or a later one
        pks = {(row.site_id, row.report_id): row.id for row in rows}
        written = [(pks[key], batch[index]) for key, index in order if key in pks]
        replaced = [pk for pk, item in written if int(item.report["seq"]) > 0]
        if replaced:  # maybe updates (none is possible at seq 0): drop the old rows
            conn.execute(_DELETE_ENTRIES, {"pks": replaced})
            conn.execute(_DELETE_SEGMENTS, {"pks": replaced})
        entries = [row for pk, item in written for row in _entry_rows(pk, item)]
        if entries:
            _write(conn, _INSERT[dialect][report_entries], entries)
        segments = [row for pk, item in written for row in _segment_rows(pk, item)]
        if segments:
            _write(conn, _INSERT[dialect][report_segments], segments)
    for key, index in order:
        stored[index] = key in pks
    return stored


def _common(item: Received) -> dict[str, Any]:
    """The columns a report shares with its entries."""
    privacy = item.report["privacy"]
    epsilon = float(privacy["epsilon"]) if privacy["mode"] == "ldp" else None
    hour = int(item.report["hour"])
    return {"site_id": item.site_id, "mode": privacy["mode"], "epsilon": epsilon, "hour": hour}


def _report_row(item: Received) -> dict[str, Any]:
    report = item.report
    ldp = report["privacy"]["mode"] == "ldp"
    return _common(item) | {
        "report_id": report["report_id"],
        "seq": int(report["seq"]),
        "received_hour": item.received_hour,
        "segment": None if ldp else report["segment"],
    }


def _entry_rows(report_pk: int, item: Received) -> list[dict[str, Any]]:
    common = _common(item) | {"report_pk": report_pk}
    ldp = common["mode"] == "ldp"
    return [_entry_row(entry, ldp) | common for entry in item.report["triggers"]]


def _segment_rows(report_pk: int, item: Received) -> list[dict[str, Any]]:
    """An ``ldp`` report's randomized segment bits (none in ``unlinkable``)."""
    common = _common(item)
    if common["mode"] != "ldp" or not item.report["segment"]:
        return []
    return [
        {
            "report_pk": report_pk,
            "site_id": item.site_id,
            "epsilon": common["epsilon"],
            "hour": common["hour"],
            "name": name,
            "bit": int(bit),
        }
        for name, bit in item.report["segment"].items()
    ]


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
