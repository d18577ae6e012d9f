"""``pytrigger site add|token|list`` and the pieces of ``pytrigger serve``."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from collector_reports import report
from collector_support import Server, free_port, pytrigger

from pytrigger.collector import store
from pytrigger.collector.commands import demo_origins, is_loopback
from pytrigger.collector.tcp import TcpConfig


def test_site_add_prints_the_key_last_and_list_shows_it(db_url: str) -> None:
    done = pytrigger(
        "site", "add", "shop", "--origin", "https://Shop.example:443/", "--origin",
        "http://localhost:8080", "--rate", "5", "--burst", "20", "--db", db_url,
    )  # fmt: skip
    key = done.stdout.split()[-1]
    engine = store.connect(db_url)
    site = store.find_site(engine, key)
    assert site is not None and site.name == "shop"
    assert site.origins == ("https://shop.example", "http://localhost:8080")
    assert (site.rate, site.burst, site.token_hash) == (5.0, 20, None)
    listing = pytrigger("site", "list", "--db", db_url).stdout
    assert "shop" in listing and key in listing and "token none" in listing

    token = pytrigger("site", "token", "shop", "--db", db_url).stdout.split()[-1]
    site = store.find_site(engine, key)
    assert site is not None and store.token_matches(site, token)
    assert token not in str(site.token_hash)  # only its hash is stored
    assert "token set" in pytrigger("site", "list", "--db", db_url).stdout
    engine.dispose()


def test_site_commands_refuse_bad_input(db_url: str) -> None:
    assert pytrigger("site", "add", "shop", "--origin", "https://a.example", "--db", db_url)
    again = pytrigger("site", "add", "shop", "--origin", "https://a.example", "--db", db_url,
                      check=False)  # fmt: skip
    assert again.returncode == 1 and "exists" in again.stderr
    for origin in ("ftp://a.example", "https://a.example/path", "not a url"):
        bad = pytrigger("site", "add", "other", "--origin", origin, "--db", db_url, check=False)
        assert bad.returncode == 1, origin
    bad_name = pytrigger("site", "add", "Bad Name", "--origin", "https://a.example",
                         "--db", db_url, check=False)  # fmt: skip
    assert bad_name.returncode == 1
    assert pytrigger("site", "add", "x", "--db", db_url, check=False).returncode == 2
    assert pytrigger("site", "add", "x", "--origin", "https://a.example", "--rate", "0",
                     "--db", db_url, check=False).returncode == 2  # fmt: skip
    missing = pytrigger("site", "token", "nobody", "--db", db_url, check=False)
    assert missing.returncode == 1 and "nobody" in missing.stderr


def test_postgresql_urls_are_rewritten_to_psycopg() -> None:
    assert store.normalize_url("postgresql://u@h:5/d") == "postgresql+psycopg://u@h:5/d"
    assert store.normalize_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert store.normalize_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


def test_loopback_and_demo_origins() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("127.1.2.3")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert not is_loopback("example.org")
    assert demo_origins("127.0.0.1", 8000) == ["http://localhost:8000", "http://127.0.0.1:8000"]
    assert demo_origins("0.0.0.0", 80) == ["http://localhost:80", "http://127.0.0.1:80"]
    assert demo_origins("collector.example", 8000) == ["http://collector.example:8000"]


def test_serve_registers_the_demo_site_on_an_empty_database(server: Server) -> None:
    engine = store.connect(server.db_url)
    demo = store.find_site(engine, "demo")
    engine.dispose()
    assert demo is not None and demo.name == "demo"
    assert server.origin in demo.origins
    assert "registered site 'demo'" in server.log.read_text()
    response = httpx.options(
        f"{server.url}/v1/aggregates",
        headers={"Origin": server.origin, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204


def test_openapi_has_no_cdn_docs(server: Server) -> None:
    document = httpx.get(f"{server.url}/openapi.json").json()
    assert set(document["paths"]) == {"/v1/aggregates", "/v1/report"}
    body = document["paths"]["/v1/aggregates"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Report"}
    assert "Report_countEntry" in document["components"]["schemas"]
    assert httpx.get(f"{server.url}/docs").status_code == 404


def test_the_workers_socket_gives_connections_tcp_nodelay() -> None:
    """``serve --workers`` shares a listening socket made by uvicorn; made so,
    asyncio left Nagle's algorithm on for every connection and each answer
    waited ~40 ms for the client's delayed ACK.  TcpConfig's socket is
    labelled IPPROTO_TCP, so asyncio turns Nagle off."""
    sock = TcpConfig("pytrigger.collector.app:app_from_env", host="127.0.0.1", port=0).bind_socket()
    assert sock.proto == socket.IPPROTO_TCP and sock.get_inheritable()

    async def nodelay_of_a_connection() -> int:
        seen: list[int] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted = writer.get_extra_info("socket")
            seen.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            reader, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            await reader.read()
            writer.close()
        return seen[0]

    try:
        assert asyncio.run(nodelay_of_a_connection()) == 1
    finally:
        sock.close()


def test_serve_with_two_workers_takes_reports(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'workers.db'}"
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pytrigger", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--db", db, "--static", str(tmp_path), "--workers", "2"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        site = pytrigger("site", "add", "w", "--origin", "https://w.example", "--db", db)
        key = site.stdout.split()[-1]
        deadline = time.monotonic() + 30
        statuses = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            while len(statuses) < 10 and time.monotonic() < deadline:
                try:
                    sent = client.post("/v1/aggregates", content=json.dumps(report(key)))
                except httpx.TransportError:  # the workers are still starting
                    assert process.poll() is None, log.read_text()
                    time.sleep(0.2)
                    continue
                statuses.append(sent.status_code)
        assert statuses == [202] * 10, log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=20)
