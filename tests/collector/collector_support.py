"""Helpers shared by the collector's tests and their fixtures (conftest.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Postgres:
    port: int
    admin_url: str

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


def pytrigger(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pytrigger ARGS`` and return its result."""
    done = subprocess.run(
        [sys.executable, "-m", "pytrigger", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"pytrigger {args} failed: {done.stdout}{done.stderr}")
    return done


@dataclass
class Server:
    url: str
    origin: str
    db_url: str
    log: Path

    def add_site(self, name: str, *origins: str, rate: float = 100, burst: int = 1000) -> str:
        """Register a site through the CLI; return its key (the last word)."""
        flags = [arg for origin in (origins or (self.origin,)) for arg in ("--origin", origin)]
        done = pytrigger(
            "site", "add", name, *flags, "--rate", str(rate), "--burst", str(burst),
            "--db", self.db_url,
        )  # fmt: skip
        return done.stdout.split()[-1]
