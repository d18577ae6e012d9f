"""`pytrigger serve`'s static routes (pytrigger/collector/static_files.py), over HTTP."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
from urllib.parse import urlsplit

import brotli  # type: ignore[import-untyped,unused-ignore]
import pytest
from e2ekit import STATIC

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

IMMUTABLE = "public, max-age=31536000, immutable"


def request(
    base: str, path: str, method: str = "GET", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("path", "content_type", "cache"),
    [
        ("/pytrigger/pytrigger.js", "text/javascript; charset=utf-8", "no-cache"),
        ("/pytrigger/worker.js", "text/javascript; charset=utf-8", "no-cache"),
        ("/pytrigger/pyodide/pyodide.mjs", "text/javascript; charset=utf-8", IMMUTABLE),
        ("/pytrigger/pyodide/pyodide.asm.wasm", "application/wasm", IMMUTABLE),
        ("/pytrigger/pyodide/python_stdlib.zip", "application/zip", IMMUTABLE),
        ("/pytrigger/pyodide/pyodide-lock.json", "application/json", "no-cache"),
        ("/pyscript/core.js", "text/javascript; charset=utf-8", "no-cache"),
        ("/product/pytrigger.json", "application/json", "no-cache"),
        ("/product/", "text/html; charset=utf-8", "no-cache"),
        ("/", "text/html; charset=utf-8", "no-cache"),
    ],
)
def test_content_types_and_cache_headers(
    server: str, path: str, content_type: str, cache: str
) -> None:
    status, headers, _ = request(server, path)
    assert status == 200
    assert headers["content-type"] == content_type
    assert headers["cache-control"] == cache
    assert headers["etag"].startswith('"')


def test_the_wheel_is_immutable_zip(server: str) -> None:
    (wheel,) = (STATIC / "pytrigger" / "pyodide").glob("pytrigger-*.whl")
    status, headers, body = request(server, f"/pytrigger/pyodide/{wheel.name}")
    assert status == 200 and body == wheel.read_bytes()
    assert headers["content-type"] == "application/zip"
    assert headers["cache-control"] == IMMUTABLE


def test_the_memory_snapshot_is_immutable_and_named_by_its_hash(server: str) -> None:
    build = json.loads((STATIC / "BUILD.json").read_text())
    snapshot = build["snapshot"]
    assert snapshot["file"] == f"snapshot-{snapshot['sha256'][:16]}.bin"
    status, headers, body = request(server, f"/pytrigger/pyodide/{snapshot['file']}")
    assert status == 200 and hashlib.sha256(body).hexdigest() == snapshot["sha256"]
    assert headers["cache-control"] == IMMUTABLE
    # the worker accepts that file and no other
    worker = (STATIC / "pytrigger" / "worker.js").read_text()
    assert snapshot["sha256"] in worker and snapshot["file"] in worker
    status, headers, _ = request(
        server, f"/pytrigger/pyodide/{snapshot['file']}", Accept_Encoding="br"
    )
    assert headers["content-encoding"] == "br"


def test_precompressed_siblings_follow_accept_encoding(server: str) -> None:
    original = (STATIC / "pytrigger" / "pytrigger.js").read_bytes()
    path = "/pytrigger/pytrigger.js"

    status, headers, body = request(server, path, Accept_Encoding="gzip, deflate, br")
    assert (status, headers["content-encoding"], headers["vary"]) == (200, "br", "Accept-Encoding")
    assert brotli.decompress(body) == original

    status, headers, body = request(server, path, Accept_Encoding="gzip, br;q=0")
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == original

    status, headers, body = request(server, path, Accept_Encoding="identity")
    assert "content-encoding" not in headers and body == original
    assert headers["vary"] == "Accept-Encoding"

    status, headers, body = request(server, path)
    assert "content-encoding" not in headers and body == original


def test_etag_revalidation_and_head(server: str) -> None:
    path = "/pytrigger/pyodide/pyodide-lock.json"
    _, headers, _ = request(server, path, Accept_Encoding="br")
    status, again, body = request(server, path, Accept_Encoding="br", If_None_Match=headers["etag"])
    assert (status, body) == (304, b"") and again["etag"] == headers["etag"]
    # another encoding is another representation: another ETag
    _, plain, _ = request(server, path)
    assert plain["etag"] != headers["etag"]
    status, head, body = request(server, path, method="HEAD")
    assert status == 200 and body == b"" and head["etag"] == plain["etag"]


def test_folders_redirect_and_nothing_outside_is_served(server: str) -> None:
    status, headers, _ = request(server, "/search")
    assert status == 308 and headers["location"].endswith("/search/")
    for path in (
        "/pytrigger/../../pyproject.toml",
        "/pytrigger/%2e%2e/%2e%2e/pyproject.toml",
        "/pytrigger/.hidden",
        "/no-such-page.html",
        "/pytrigger/",
    ):
        status, _, body = request(server, path)
        assert status == 404, path
        assert b"[project]" not in body
    status, headers, _ = request(server, "/pytrigger/pytrigger.js", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"
