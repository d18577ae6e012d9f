"""End-to-end fixtures: one `pytrigger serve`, one Debian Chromium, a fresh context per test.

The server is the real command (`python -m pytrigger serve`, serving the
built `static/`: run `python3 build.py` first — `python3 build.py test` does).
Custom pages, configs and response headers (CSP) are served on the same origin
through `page.route(...).fulfill(...)`; see e2ekit.py.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2ekit import RECORDER, ROOT, STATIC, Site
from playwright.sync_api import Browser, Page


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def serve_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's folder: its static/ copy, its log and its SQLite database."""
    return tmp_path_factory.mktemp("serve")


@pytest.fixture(scope="session")
def collector_db(serve_dir: Path) -> Path:
    """The server's SQLite database (the collector stores reports there; `pytrigger
    serve` registers the site `demo`, key `demo`, for its own origin)."""
    return serve_dir / "e2e.sqlite3"


@pytest.fixture(scope="session")
def server(serve_dir: Path, collector_db: Path) -> Iterator[str]:
    """`pytrigger serve` on a free loopback port; yields its base URL."""
    if not (STATIC / "pytrigger" / "pytrigger.js").is_file():
        pytest.fail("static/ is not built: run `python3 build.py` (or `python3 build.py test`)")
    port = _free_port()
    folder = serve_dir
    # a private copy: a rebuild of static/ during the run cannot tear the bundle
    static = folder / "static"
    shutil.copytree(STATIC, static)
    log = (folder / "serve.log").open("wb")
    cmd = [
        sys.executable, "-m", "pytrigger", "serve",
        "--host", "127.0.0.1", "--port", str(port),
        "--db", f"sqlite:///{collector_db}", "--static", str(static),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/pytrigger/pytrigger.js", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    output = (folder / "serve.log").read_text(errors="replace")
                    pytest.fail(f"pytrigger serve did not come up:\n{output}")
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context (no cache, no storage) and page, with the event recorder."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(RECORDER)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(30000)
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def site(page: Page, server: str) -> Site:
    """The page, the server, and the helpers of e2ekit.Site."""
    return Site(page, server)


SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
