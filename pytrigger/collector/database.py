"""The collector's database engines: SQLite or PostgreSQL, set up for many
writers (:mod:`pytrigger.collector.store` holds the tables and the queries).

- SQLite runs in WAL mode with ``synchronous=NORMAL`` (a commit is not
  flushed to disk, a checkpoint is: a power cut may lose the last reports,
  never corrupt the file) and a busy timeout; the write transactions of one
  process take turns on a lock (:func:`write_transaction`).
- PostgreSQL connections are pooled; one that sat idle in the pool is tested
  before use, one in steady use is not (no ``pool_pre_ping`` round trip per
  report).
- The tables are created on start, by one process at a time: under SQLite's
  write lock (``BEGIN IMMEDIATE``) or a PostgreSQL advisory lock, so several
  collector processes can start at once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

__all__ = ["normalize_url", "open_engine", "write_transaction"]

#: a pooled PostgreSQL connection idle for longer is tested before use
PING_AFTER_IDLE_S = 10.0

#: one lock per SQLite engine, held by its write transactions
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


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


_BUSY_MS = 10_000


def _wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, waiting for a lock another process holds.

    Switching a new file to WAL while another collector process writes it (two
    starting at once, both creating the tables) fails at once with "database is
    locked": SQLite does not call its busy handler there. WAL is kept in the
    file, so once one process has switched it the others' pragma only reads."""
    deadline = time.monotonic() + _BUSY_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def open_engine(url: str, metadata: MetaData) -> Engine:
    """An engine for ``url`` (normalized) with ``metadata``'s tables created."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            _wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            metadata.create_all(conn)
            conn.commit()
        _SQLITE_WRITERS[engine] = threading.Lock()
    else:
        engine = create_engine(url)
        _ping_when_idle(engine)
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(7316327)"))
            metadata.create_all(conn)
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction.  On SQLite, the threads of one process take turns
    on a lock first: SQLite lets one writer in at a time and makes the others
    retry in sleeps of up to 100 ms (its busy handler), which under a few
    hundred reports per second was most of the tail latency.  Other
    processes on the same file still wait in the busy handler."""
    lock = _SQLITE_WRITERS.get(engine)
    if lock is None:
        with engine.begin() as conn:
            yield conn
        return
    with lock, engine.begin() as conn:
        yield conn


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use if it sat idle for a while (the
    server may have restarted or dropped it), as ``pool_pre_ping`` does
    before every use -- which costs a round trip per report under load, when
    connections are busy and known good.  A dead connection is replaced: the
    pool retries the checkout with a new one."""

    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as error:  # whatever failed, the connection is not usable
            raise DisconnectionError(str(error)) from error
