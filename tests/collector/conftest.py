"""Fixtures for the collector's tests: a database per backend (SQLite, and a
real PostgreSQL started from Debian's binaries), and a real ``pytrigger
serve`` process on a free loopback port.

Every collector test that takes ``db_url`` runs once per backend.  The
PostgreSQL server is started once per test session (``initdb`` in a temp dir,
``postgres`` on 127.0.0.1, run as the ``postgres`` system user when we are
root), and each test gets a fresh database in it.  Without the binaries the
PostgreSQL half is skipped, naming what is missing -- except under CI
(``CI`` set, as CI services do), where it fails: CI installs PostgreSQL, so
a missing one there is a broken set-up, not a test to skip.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

pytest.importorskip("fastapi", reason="the collector extra is not installed")
pytest.importorskip("sqlalchemy", reason="the collector extra is not installed")

from collector_support import Postgres, Server, free_port


def _pg_bin() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> NoReturn:
    """Skip (a developer's machine without PostgreSQL), or fail under CI."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set: CI must run the PostgreSQL half)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        _unavailable("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("running as root and no 'postgres' system user to run PostgreSQL as")
        if shutil.which("runuser") is None:
            _unavailable("running as root and no runuser to drop to the 'postgres' user")
        prefix = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="pytrigger-pg-"))
    data = base / "data"
    if prefix:
        shutil.chown(base, "postgres")
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True}
    subprocess.run(
        [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
         "--no-sync", "-E", "UTF8"],
        **run,
    )  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"),
         "-o", options, "-w", "-t", "60", "start"],
        **run,
    )  # fmt: skip
    try:
        yield Postgres(port, f"postgresql://postgres@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _database(backend: str, request: pytest.FixtureRequest, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'collector.db'}"
    postgres: Postgres = request.getfixturevalue("postgres")
    return postgres.new_database()


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of the test's backend."""
    return _database(backend, request, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A real ``python -m pytrigger serve`` on a free loopback port, on a fresh
    database of each backend (one server per test module and backend)."""
    tmp = tmp_path_factory.mktemp("server")
    db = _database(str(request.param), request, tmp)
    port = free_port()
    log = tmp / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytrigger", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--db", db],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"pytrigger serve did not start:\n{log.read_text()}") from None
            time.sleep(0.1)
    try:
        yield Server(url, url, db, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
