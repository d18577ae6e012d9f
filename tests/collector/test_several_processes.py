"""Several collector processes sharing one database: on PostgreSQL they start
together (tables created once, under an advisory lock) and a report sent to
all of them at once is stored once; on both backends, snapshots of the same
sessions sent to all of them at once, in any order, leave each session's
latest snapshot and nothing else."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from collector_reports import report
from collector_support import Postgres, free_port, pytrigger
from sqlalchemy import select

from pytrigger.collector import store


def _wait(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.1)


def test_processes_share_one_postgresql(postgres: Postgres, tmp_path: Path) -> None:
    db = postgres.new_database()
    ports = [free_port(), free_port(), free_port()]
    processes = []
    for i, port in enumerate(ports):
        log = tmp_path / f"serve{i}.log"
        with log.open("w") as out:
            processes.append(
                (subprocess.Popen(
                    [sys.executable, "-m", "pytrigger", "serve", "--host", "127.0.0.1",
                     "--port", str(port), "--db", db, "--static", str(tmp_path)],
                    stdout=out, stderr=subprocess.STDOUT,
                ), log)
            )  # fmt: skip
    try:
        for port, (process, log) in zip(ports, processes, strict=True):
            _wait(port, process, log)
        key = pytrigger("site", "add", "multi", "--origin", "https://m.example", "--db", db)
        site = key.stdout.split()[-1]
        time.sleep(0.3)
        bodies = [report(site, seed=i) for i in range(20)]

        def send(job: tuple[int, int]) -> int:
            port, index = job
            response = httpx.post(
                f"http://127.0.0.1:{port}/v1/aggregates", content=json.dumps(bodies[index])
            )
            return response.status_code

        jobs = [(port, index) for index in range(20) for port in ports]
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(send, jobs))
        assert statuses == [202] * 60
        engine = store.connect(db)
        found = store.find_site(engine, site)
        assert found is not None and store.count_reports(engine, found.id) == 20
        engine.dispose()
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            process.wait(timeout=10)


@contextmanager
def _servers(db: str, count: int, tmp_path: Path) -> Iterator[list[int]]:
    """``count`` collector processes on ``db``; their ports."""
    ports = [free_port() for _ in range(count)]
    processes = []
    try:
        for i, port in enumerate(ports):
            log = tmp_path / f"snap{i}.log"
            with log.open("w") as out:
                processes.append(
                    (subprocess.Popen(
                        [sys.executable, "-m", "pytrigger", "serve", "--host", "127.0.0.1",
                         "--port", str(port), "--db", db, "--static", str(tmp_path)],
                        stdout=out, stderr=subprocess.STDOUT,
                    ), log)
                )  # fmt: skip
        for port, (process, log) in zip(ports, processes, strict=True):
            _wait(port, process, log)
        yield ports
    finally:
        for process, _ in processes:
            process.terminate()
        for process, _ in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_concurrent_snapshots_leave_the_latest(db_url: str, tmp_path: Path) -> None:
    sessions, snapshots = 15, 4
    with _servers(db_url, 2, tmp_path) as ports:
        done = pytrigger("site", "add", "snaps", "--origin", "https://s.example", "--db", db_url)
        site = done.stdout.split()[-1]
        time.sleep(0.3)
        # snapshot k of a session: 'help' exposed k + 1 times, its segment alternating
        bodies = {
            (i, k): report(site, seed=1000 + i, fired=k % 2 == 1, seq=k) | {"hour": 400_000 + k}
            for i in range(sessions)
            for k in range(snapshots)
        }
        for (_, k), body in bodies.items():
            body["triggers"][0]["exposure"] = k + 1
        jobs = [(port, key) for key in bodies for port in ports]
        random.Random(3).shuffle(jobs)

        def send(job: tuple[int, tuple[int, int]]) -> int:
            port, key = job
            response = httpx.post(
                f"http://127.0.0.1:{port}/v1/aggregates", content=json.dumps(bodies[key])
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(send, jobs))
    assert statuses == [202] * len(jobs)
    engine = store.connect(db_url)
    try:
        found = store.find_site(engine, site)
        assert found is not None and store.count_reports(engine, found.id) == sessions
        with engine.connect() as conn:
            rows = conn.execute(
                select(store.reports).where(store.reports.c.site_id == found.id)
            ).all()
            entries = conn.execute(
                select(store.report_entries).where(store.report_entries.c.site_id == found.id)
            ).all()
    finally:
        engine.dispose()
    last = snapshots - 1
    latest = {bodies[(i, last)]["report_id"] for i in range(sessions)}
    assert {row.report_id for row in rows} == latest
    assert {(row.seq, row.hour) for row in rows} == {(last, 400_000 + last)}
    # each session's entries are its latest snapshot's, once
    assert len(entries) == sessions
    pks = {row.id for row in rows}
    assert {e.report_pk for e in entries} == pks
    assert {(e.exposure, e.fire, e.suppressed_cooldown) for e in entries} == {(last + 1, 1, 0)}
