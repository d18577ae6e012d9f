"""The store's connections: a PostgreSQL connection that died while idle in
the pool is tested and replaced before use (instead of ``pool_pre_ping``'s
round trip before every report), and many threads can store at once."""

from __future__ import annotations

import threading

import psycopg
import pytest
from collector_reports import report
from collector_support import Postgres
from sqlalchemy import text

from pytrigger.collector import database, store


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
