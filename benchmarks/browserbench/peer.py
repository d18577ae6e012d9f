"""posthog-js as an honest peer: its CDN and its ingestion on a loopback port of its own.

The benchmark pages load posthog-js's ``dist/array.js`` (what its snippet loads) from here,
so posthog-js is a third party, as from its CDN: the npm package's ``dist/`` is served with
brotli or gzip when asked, ``no-cache`` and an ``ETag``. Its remote config
(``/array/<token>/config.js``, the JSON ``/config`` too) says what a project with
autocapture on and everything heavier off would say -- a bare ``{}`` would silently turn
autocapture and rage clicks off. Everything it sends is answered 200 and counted (requests,
bytes, event names, decoded from its gzip-js payloads). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
POSTHOG_DIST = ROOT / "node_modules" / "posthog-js" / "dist"
POSTHOG_PACKAGE = ROOT / "node_modules" / "posthog-js" / "package.json"
POSTHOG_TOKEN = "phc_bench"


def posthog_version() -> str:
    version: str = json.loads(POSTHOG_PACKAGE.read_text())["version"]
    return version


#: what PostHog's /array/<token>/config.js would answer for a project with autocapture on
#: and everything heavier (recordings, heatmaps, dead clicks, web vitals, surveys) off
POSTHOG_REMOTE_CONFIG: dict[str, Any] = {
    "token": POSTHOG_TOKEN,
    "supportedCompression": ["gzip", "gzip-js"],
    "hasFeatureFlags": False,
    "captureDeadClicks": False,
    "capturePerformance": False,
    "autocapture_opt_out": False,
    "autocaptureExceptions": False,
    "analytics": {"endpoint": "/i/v0/e/"},
    "elementsChainAsString": True,
    "sessionRecording": False,
    "heatmaps": False,
    "surveys": False,
    "defaultIdentifiedOnly": True,
    "siteApps": [],
}


@dataclass
class PeerLog:
    """What posthog-js asked for and sent, guarded by a lock (the server has threads)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: Counter[str] = field(default_factory=Counter)
    sent_bytes: int = 0
    posts: int = 0
    events: Counter[str] = field(default_factory=Counter)
    undecoded: int = 0

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.events.clear()
            self.sent_bytes = self.posts = self.undecoded = 0

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": dict(self.requests),
                "sent_bytes": self.sent_bytes,
                "posts": self.posts,
                "events": dict(self.events),
                "undecoded": self.undecoded,
            }


def _decode_posthog_body(body: bytes, query: dict[str, list[str]]) -> list[dict[str, Any]]:
    """posthog-js's event payload: gzip (compression=gzip-js), base64 form data, or JSON."""
    compression = (query.get("compression") or [""])[0]
    if compression == "gzip-js" or body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    elif body.startswith(b"data="):
        body = base64.b64decode(urllib.parse.unquote_to_bytes(body[5:]))
    parsed = json.loads(body)
    if isinstance(parsed, dict) and "batch" in parsed:
        parsed = parsed["batch"]
    items = parsed if isinstance(parsed, list) else [parsed]
    return [item for item in items if isinstance(item, dict)]


class PostHogPeer:
    """posthog-js's CDN and ingestion, on a loopback port of its own."""

    def __init__(self) -> None:
        self.port = 0
        self.origin = ""  # known once entered (the server binds a free port)
        self.log = PeerLog()
        self._files: dict[str, dict[str, bytes]] = {}
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _file(self, name: str) -> dict[str, bytes] | None:
        """dist/<name> in identity, gzip and brotli, compressed once."""
        if name not in self._files:
            path = POSTHOG_DIST / name
            if "/" in name or not path.is_file():
                return None
            data = path.read_bytes()
            variants = {"identity": data, "gzip": gzip.compress(data, 9, mtime=0)}
            try:
                import brotli  # type: ignore[import-untyped]  # in the venv: the build uses it

                variants["br"] = brotli.compress(data, quality=11)
            except ImportError:
                pass
            self._files[name] = variants
        return self._files[name]

    def config_js(self) -> bytes:
        config = json.dumps({"config": POSTHOG_REMOTE_CONFIG, "siteApps": []})
        return (
            "(function(){var w=window;w._POSTHOG_REMOTE_CONFIG=w._POSTHOG_REMOTE_CONFIG||{};"
            f"w._POSTHOG_REMOTE_CONFIG[{json.dumps(POSTHOG_TOKEN)}]={config};}})();"
        ).encode()

    def __enter__(self) -> PostHogPeer:
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _cors(self) -> None:
                origin = self.headers.get("Origin")
                self.send_header("Access-Control-Allow-Origin", origin or "*")
                self.send_header("Access-Control-Allow-Credentials", "true")
                self.send_header("Access-Control-Allow-Headers", "*")
                self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
                self.send_header("Timing-Allow-Origin", "*")  # so transferSize is readable
                self.send_header("Vary", "Origin, Accept-Encoding")

            def _answer(
                self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self._cors()
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_OPTIONS(self) -> None:
                with peer.log.lock:
                    peer.log.requests["OPTIONS"] += 1
                self._answer(204, b"", "text/plain")

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                path = url.path
                if path.startswith("/static/"):
                    name = path.rsplit("/", 1)[-1]
                    with peer.log.lock:
                        peer.log.requests[f"GET /static/{name}"] += 1
                    variants = peer._file(name)
                    if variants is None:
                        self._answer(404, b"not found", "text/plain")
                        return
                    etag = f'"{len(variants["identity"])}-{posthog_version()}"'
                    if self.headers.get("If-None-Match") == etag:
                        self._answer(304, b"", "text/javascript", {"ETag": etag})
                        return
                    accept = self.headers.get("Accept-Encoding", "")
                    encoding = next(
                        (e for e in ("br", "gzip") if e in accept and e in variants), "identity"
                    )
                    extra = {"ETag": etag, "Cache-Control": "no-cache"}
                    if encoding != "identity":
                        extra["Content-Encoding"] = encoding
                    self._answer(200, variants[encoding], "text/javascript", extra)
                    return
                if path == f"/array/{POSTHOG_TOKEN}/config.js":
                    with peer.log.lock:
                        peer.log.requests["GET config.js"] += 1
                    self._answer(
                        200, peer.config_js(), "text/javascript", {"Cache-Control": "no-cache"}
                    )
                    return
                if path == f"/array/{POSTHOG_TOKEN}/config":
                    with peer.log.lock:
                        peer.log.requests["GET config"] += 1
                    self._answer(
                        200, json.dumps(POSTHOG_REMOTE_CONFIG).encode(), "application/json"
                    )
                    return
                with peer.log.lock:
                    peer.log.requests[f"GET {path}"] += 1
                self._answer(200, b"{}", "application/json")

            def do_POST(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                length = min(int(self.headers.get("Content-Length") or 0), 16 * 1024 * 1024)
                body = self.rfile.read(length)
                names: list[str] = []
                if not url.path.startswith("/flags"):
                    try:
                        names = [
                            str(e.get("event"))
                            for e in _decode_posthog_body(body, urllib.parse.parse_qs(url.query))
                        ]
                    except (ValueError, OSError, EOFError):
                        names = []
                with peer.log.lock:
                    peer.log.requests[f"POST {url.path}"] += 1
                    peer.log.posts += 1
                    peer.log.sent_bytes += len(body)
                    peer.log.events.update(names)
                    if not names and not url.path.startswith("/flags"):
                        peer.log.undecoded += 1
                if url.path.startswith("/flags"):
                    reply = {
                        "featureFlags": {},
                        "featureFlagPayloads": {},
                        "errorsWhileComputingFlags": False,
                    }
                    self._answer(200, json.dumps(reply).encode(), "application/json")
                else:
                    self._answer(200, b'{"status": 1}', "application/json")

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
