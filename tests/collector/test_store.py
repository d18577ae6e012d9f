"""The store: a PostgreSQL connection that died while idle in the pool is
tested and replaced before use (instead of ``pool_pre_ping``'s round trip
before every report), many threads can store at once, and a batch of
reports is stored as one by one would, in one transaction, or not at all."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from collector_reports import report
from collector_support import Postgres
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from pytrigger.collector import database, store, tables


def test_a_postgresql_connection_dropped_while_idle_is_replaced(
    postgres: Postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = store.connect(postgres.new_database())
    try:
        site = store.add_site(engine, "idle", ["https://idle.example"])
        with engine.connect() as conn:
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(postgres.admin_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
        monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)  # it has been idle "long"
        assert store.insert_report(engine, site.id, report(site.key), received_hour=1)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != backend
        assert store.count_reports(engine, site.id) == 1
    finally:
        engine.dispose()


def test_many_threads_store_at_once(db_url: str) -> None:
    """Eight threads storing at once (as the collector's thread pool does):
    every report is stored and none fails (on SQLite they take turns on the
    engine's write lock)."""
    engine = store.connect(db_url)
    try:
        site = store.add_site(engine, "many", ["https://many.example"])
        bodies = [report(site.key) for _ in range(40)]
        errors: list[BaseException] = []

        def store_some(part: list[dict[str, object]]) -> None:
            try:
                for body in part:
                    store.insert_report(engine, site.id, body, received_hour=1)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=store_some, args=(bodies[i::8],)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == [] and store.count_reports(engine, site.id) == 40
    finally:
        engine.dispose()


def _stored(engine: Engine, site_id: int) -> dict[str, tuple[int, int, list[int]]]:
    """report id -> (seq, hour, the exposure counts of its entries)."""
    with engine.connect() as conn:
        rows = conn.execute(select(store.reports).where(store.reports.c.site_id == site_id)).all()
        entries = conn.execute(select(store.report_entries)).all()
    return {
        row.report_id: (
            row.seq,
            row.hour,
            sorted(e.exposure for e in entries if e.report_pk == row.id),
        )
        for row in rows
    }


def _snapshot(site: store.Site, seed: int, seq: int, exposures: int) -> dict[str, Any]:
    body = report(site.key, seed=seed, seq=seq) | {"hour": 500_000 + seq}
    body["triggers"][0]["exposure"] = exposures
    return body


def test_a_batch_stores_what_one_by_one_would(db_url: str) -> None:
    """Inside one batch: the greatest seq of a session wins whatever the
    order, the first of equal seqs wins, a session stored already with a
    greater seq is left alone, and a smaller stored seq is replaced."""
    engine = store.connect(db_url)
    try:
        site = store.add_site(engine, "batch", ["https://batch.example"])
        older = _snapshot(site, 1, seq=1, exposures=1)
        newer = _snapshot(site, 2, seq=5, exposures=5)
        assert store.insert_reports(
            engine,
            [store.Received(site.id, older, 1), store.Received(site.id, newer, 1)],
        ) == [True, True]
        batch = [
            _snapshot(site, 1, seq=3, exposures=3),  # replaces the stored seq 1...
            _snapshot(site, 1, seq=4, exposures=4),  # ...but this one is later
            _snapshot(site, 1, seq=2, exposures=2),  # earlier: nothing
            _snapshot(site, 2, seq=4, exposures=40),  # stored at seq 5: nothing
            _snapshot(site, 3, seq=0, exposures=7),  # new, and its equal-seq twin:
            _snapshot(site, 3, seq=0, exposures=8),  # the first wins
            _snapshot(site, 4, seq=2, exposures=9),  # new at seq 2
        ]
        stored = store.insert_reports(engine, [store.Received(site.id, b, 2) for b in batch])
        assert stored == [False, True, False, False, True, False, True]
        ids = [b["report_id"] for b in batch]
        assert _stored(engine, site.id) == {
            ids[0]: (4, 500_004, [4]),
            ids[3]: (5, 500_005, [5]),
            ids[4]: (0, 500_000, [7]),
            ids[6]: (2, 500_002, [9]),
        }
        assert store.insert_reports(engine, [store.Received(site.id, batch[2], 2)]) == [False]
    finally:
        engine.dispose()


def test_a_batch_failing_midway_stores_nothing(db_url: str) -> None:
    """The reports of a batch are upserted first; an entry the database
    refuses (here a NULL trigger name) fails the batch after that, and the
    whole transaction is rolled back: the earlier snapshot stays as it was."""
    engine = store.connect(db_url)
    try:
        site = store.add_site(engine, "midway", ["https://midway.example"])
        first = _snapshot(site, 1, seq=0, exposures=1)
        assert store.insert_report(engine, site.id, first, 1)
        before = _stored(engine, site.id)
        bad = report(site.key, seed=9)
        bad["triggers"][0]["trigger"] = None
        batch = [_snapshot(site, 1, seq=1, exposures=2), report(site.key, seed=8), bad]
        with pytest.raises(DBAPIError):
            store.insert_reports(engine, [store.Received(site.id, b, 1) for b in batch])
        assert _stored(engine, site.id) == before
        assert store.count_reports(engine, site.id) == 1
    finally:
        engine.dispose()


def test_concurrent_batches_of_the_same_sessions_do_not_deadlock(db_url: str) -> None:
    """Two writers (two collector processes, say) storing batches of the
    same sessions in opposite orders: the rows are upserted in (site, report
    id) order, so neither waits for the other forever (PostgreSQL would
    abort one with a deadlock error); the latest snapshots are left."""
    engine = store.connect(db_url)
    try:
        site = store.add_site(engine, "locks", ["https://locks.example"])
        sessions, rounds = 12, 15
        errors: list[BaseException] = []

        def write(reverse: bool) -> None:
            try:
                for seq in range(rounds):
                    batch = [_snapshot(site, seed, seq, seq + 1) for seed in range(sessions)]
                    if reverse:
                        batch.reverse()
                    store.insert_reports(engine, [store.Received(site.id, b, 1) for b in batch])
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=write, args=(reverse,)) for reverse in (False, True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        found = _stored(engine, site.id)
        assert len(found) == sessions
        assert all(v == (rounds - 1, 500_000 + rounds - 1, [rounds]) for v in found.values())
    finally:
        engine.dispose()


def test_a_collector_starting_while_another_creates_a_new_sqlite_file_waits_for_it(
    tmp_path: Path,
) -> None:
    """Two processes starting at once on a new file: switching it to WAL while the other
    holds its write lock fails at once in SQLite (no busy handler), so the start waits."""
    path = tmp_path / "collector.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE starting (x)")  # a rollback-journal file, as a new one is
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO starting VALUES (1)")
    # the switch is refused at once while the lock is held, busy timeout or not
    probe = sqlite3.connect(path, timeout=5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        probe.execute("PRAGMA journal_mode=WAL")
    probe.close()
    released = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    released.start()
    try:
        engine = database.open_engine(f"sqlite:///{path}", tables.metadata)
    finally:
        released.join()
        other.close()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("SELECT count(*) FROM starting").scalar() == 1
    engine.dispose()
