"""Several collector processes sharing one PostgreSQL: they start together
(tables created once, under an advisory lock), and a report sent to all of
them at once is stored once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from collector_reports import report
from collector_support import Postgres, free_port, pytrigger

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
