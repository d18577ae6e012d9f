"""``POST /v1/aggregates`` against a real ``pytrigger serve`` process, on
SQLite and on PostgreSQL: every status, in the order of cost, CORS, de-dup
and the latest snapshot of a session winning, and that nothing about the
client is stored or logged."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from collector_reports import report
from collector_support import Server
from sqlalchemy import MetaData, create_engine, select

from pytrigger.aggregates import MAX_SEQ
from pytrigger.collector import store
from pytrigger.collector.store import normalize_url

AGGREGATES = "/v1/aggregates"


def _site(server: Server, **limits: float) -> str:
    return server.add_site(f"s{uuid.uuid4().hex[:10]}", **limits)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def site(server: Server) -> str:
    return _site(server)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def post(client: httpx.Client, body: object, origin: str | None, **headers: str) -> httpx.Response:
    sent = dict(headers)
    if origin is not None:
        sent["Origin"] = origin
    sent.setdefault("Content-Type", "text/plain;charset=UTF-8")
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(AGGREGATES, content=content, headers=sent)


def stored_rows(server: Server, table: str) -> list[dict[str, object]]:
    engine = create_engine(normalize_url(server.db_url))
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(metadata.tables[table]))]
    finally:
        engine.dispose()


def session_rows(server: Server, report_id: str) -> dict[str, list[dict[str, Any]]]:
    """What is stored for one report id: its ``reports`` row(s), and its
    entries and segment bits (without their own primary keys)."""
    rows = [r for r in stored_rows(server, "reports") if r["report_id"] == report_id]
    pks = {r["id"] for r in rows}

    def of(table: str) -> list[dict[str, Any]]:
        found = [{k: v for k, v in r.items() if k != "id"} for r in stored_rows(server, table)]
        return sorted((r for r in found if r["report_pk"] in pks), key=repr)

    return {"reports": rows, "entries": of("report_entries"), "segments": of("report_segments")}


def entry_facts(entries: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """(trigger, arm, exposure, fire, goal, suppressed cooldown) of stored
    entries or of a report's ``triggers`` list."""
    return {
        (e["trigger"], e["arm"], e["exposure"], e["fire"], e["goal"],
         e["suppressed"]["cooldown"] if "suppressed" in e else e["suppressed_cooldown"])
        for e in entries
    }  # fmt: skip


def unique_seed() -> int:
    return uuid.uuid4().int


def test_accepts_a_beacon_with_202(server: Server, site: str, client: httpx.Client) -> None:
    body = report(site)
    response = post(client, body, server.origin)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "accepted"}
    assert response.headers["access-control-allow-origin"] == server.origin
    assert response.headers["access-control-expose-headers"] == "Retry-After"
    assert response.headers["vary"] == "Origin"
    mine = [r for r in stored_rows(server, "reports") if r["report_id"] == body["report_id"]]
    assert len(mine) == 1 and mine[0]["mode"] == "unlinkable" and mine[0]["segment"] == "new"
    assert mine[0]["seq"] == 0


def test_accepts_application_json_and_ldp(server: Server, site: str, client: httpx.Client) -> None:
    body = report(site, mode="ldp", seed=5)
    response = post(client, body, server.origin, **{"Content-Type": "application/json"})
    assert response.status_code == 202, response.text


def test_an_exact_duplicate_changes_nothing(
    server: Server, site: str, client: httpx.Client
) -> None:
    body = report(site, seed=unique_seed(), seq=2)
    assert post(client, body, server.origin).status_code == 202
    stored = session_rows(server, body["report_id"])
    assert len(stored["reports"]) == 1 and stored["reports"][0]["seq"] == 2
    assert len(stored["entries"]) == 1  # the active entry, once
    assert post(client, body, server.origin).status_code == 202
    assert session_rows(server, body["report_id"]) == stored


@pytest.mark.parametrize("mode", ["unlinkable", "ldp"])
def test_a_later_snapshot_replaces_the_stored_one(
    server: Server, site: str, client: httpx.Client, mode: str
) -> None:
    seed = unique_seed()
    first = report(site, mode=mode, seed=seed, fired=False, segment="new")
    later = report(site, mode=mode, seed=seed, fired=True, segment="power", seq=1)
    assert first["report_id"] == later["report_id"]
    assert post(client, first, server.origin).status_code == 202
    before = session_rows(server, first["report_id"])
    assert post(client, later, server.origin).status_code == 202
    after = session_rows(server, first["report_id"])
    (row,) = after["reports"]
    assert row["id"] == before["reports"][0]["id"] and row["seq"] == 1
    assert entry_facts(after["entries"]) == entry_facts(later["triggers"])
    assert len(after["entries"]) == len(later["triggers"])  # the old entries are gone
    if mode == "ldp":
        bits = {(s["name"], s["bit"]) for s in after["segments"]}
        assert bits == set(later["segment"].items()) and len(after["segments"]) == 3
    else:
        assert row["segment"] == "power" and after["segments"] == []
        assert entry_facts(before["entries"]) == {("help", "A", 1, 0, 0, 1)}


def test_an_earlier_snapshot_changes_nothing(
    server: Server, site: str, client: httpx.Client
) -> None:
    seed = unique_seed()
    snapshots = [report(site, seed=seed, fired=seq > 0, seq=seq) for seq in range(3)]
    assert post(client, snapshots[2], server.origin).status_code == 202
    stored = session_rows(server, snapshots[2]["report_id"])
    for earlier in (snapshots[0], snapshots[1], snapshots[0]):  # reordered, re-sent
        assert post(client, earlier, server.origin).status_code == 202
        assert session_rows(server, earlier["report_id"]) == stored
    assert stored["reports"][0]["seq"] == 2


def test_413_by_content_length(server: Server, site: str, client: httpx.Client) -> None:
    body = b'{"site": "' + site.encode() + b'", "pad": "' + b"x" * 70_000 + b'"}'
    response = post(client, body, server.origin)
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == server.origin


def test_413_by_counting_a_chunked_body(server: Server, client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"site": "x", "pad": "'
        for _ in range(100):
            yield b"y" * 1024
        yield b'"}'

    response = client.post(AGGREGATES, content=chunks(), headers={"Origin": server.origin})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


def test_64_kib_exactly_is_not_too_large(server: Server, site: str, client: httpx.Client) -> None:
    body = report(site)
    text = json.dumps(body)
    padded = text[:-1] + " " * (64 * 1024 - len(text)) + "}"
    assert len(padded.encode()) == 64 * 1024
    assert post(client, padded.encode(), server.origin).status_code == 202


def test_422_not_json_with_the_reason(server: Server, client: httpx.Client) -> None:
    response = post(client, b"{not json", server.origin)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body is not JSON: ")
    assert post(client, b"NaN", server.origin).status_code == 422
    assert post(client, b"\xff\xfe\xfa", server.origin).status_code == 422
    not_object = post(client, [1, 2], server.origin)
    assert not_object.status_code == 422 and "object" in not_object.json()["detail"]


def test_403_unknown_site(server: Server, client: httpx.Client) -> None:
    response = post(client, report("no-such-site"), server.origin)
    assert response.status_code == 403
    assert response.json() == {"detail": "unknown site"}
    assert post(client, {"site": 12}, None).status_code == 403


def test_403_origin_not_on_the_allowlist(server: Server, site: str, client: httpx.Client) -> None:
    response = post(client, report(site), "https://evil.example")
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["vary"] == "Origin"


def test_null_origin_is_refused(server: Server, site: str, client: httpx.Client) -> None:
    assert post(client, report(site), "null").status_code == 403


def test_no_origin_header_is_accepted(server: Server, site: str, client: httpx.Client) -> None:
    response = post(client, report(site), None)
    assert response.status_code == 202
    assert "access-control-allow-origin" not in response.headers


def test_422_schema_names_the_field(server: Server, site: str, client: httpx.Client) -> None:
    body = report(site)
    body["triggers"][0]["fire"] = 5000
    response = post(client, body, server.origin)
    assert response.status_code == 422
    assert response.json()["path"] == "triggers[0].fire"
    assert response.json()["detail"].startswith("triggers[0].fire: ")
    assert response.headers["access-control-allow-origin"] == server.origin

    body = report(site)
    body["url"] = "https://example.org/secret"
    extra = post(client, body, server.origin)
    assert extra.status_code == 422 and "url" in extra.json()["detail"]

    body = report(site)
    body["triggers"].append(dict(body["triggers"][0]))
    duplicate = post(client, body, server.origin)
    assert duplicate.status_code == 422 and duplicate.json()["path"] == "triggers[1]"


def test_422_names_a_missing_or_bad_seq(server: Server, site: str, client: httpx.Client) -> None:
    body = report(site)
    del body["seq"]
    missing = post(client, body, server.origin)
    assert missing.status_code == 422, missing.text
    assert missing.json()["path"] == "seq" and "seq" in missing.json()["detail"]
    for bad in (-1, MAX_SEQ + 1, 1.5, "1", None, True):
        body = report(site, seq=1) | {"seq": bad}
        response = post(client, body, server.origin)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["path"] == "seq", bad
        assert response.json()["detail"].startswith("seq: ")
    nothing = [r for r in stored_rows(server, "reports") if r["report_id"] == body["report_id"]]
    assert nothing == []


def test_429_with_retry_after_past_the_rate(server: Server, client: httpx.Client) -> None:
    slow = _site(server, rate=0.01, burst=2)
    statuses = [post(client, report(slow), server.origin) for _ in range(3)]
    assert [r.status_code for r in statuses] == [202, 202, 429]
    refused = statuses[-1]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["access-control-allow-origin"] == server.origin
    assert refused.headers["access-control-expose-headers"] == "Retry-After"


def test_checks_run_in_the_order_of_cost(server: Server, client: httpx.Client) -> None:
    """A bad origin is refused before the rate is charged, and the rate is
    checked before the schema: an invalid report past the rate gets 429."""
    slow = _site(server, rate=0.01, burst=1)
    for _ in range(3):
        assert post(client, report(slow), "https://evil.example").status_code == 403
    assert post(client, {"site": slow}, server.origin).status_code == 422  # takes the token
    assert post(client, {"site": slow}, server.origin).status_code == 429
    too_big = post(client, b'{"site": "' + slow.encode() + b'"' + b" " * 70_000 + b"}", None)
    assert too_big.status_code == 413
    assert post(client, b"[", server.origin).status_code == 422


def test_cors_preflight(server: Server, site: str, client: httpx.Client) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = client.options(AGGREGATES, headers={"Origin": server.origin, **asked})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == server.origin
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert ok.headers["access-control-allow-headers"].lower() == "content-type"
    assert ok.headers["vary"] == "Origin"
    refused = client.options(AGGREGATES, headers={"Origin": "https://evil.example", **asked})
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


def test_nothing_about_the_client_is_stored_or_logged(
    server: Server, site: str, client: httpx.Client
) -> None:
    sentinel = "UA-SENTINEL-7f3e"
    headers = {"User-Agent": sentinel, "Cookie": f"id={sentinel}", "X-Forwarded-For": "203.0.113.9"}
    assert post(client, report(site), server.origin, **headers).status_code == 202
    assert post(client, b"junk", server.origin, **headers).status_code == 422
    dump = json.dumps(
        {
            t: stored_rows(server, t)
            for t in ("sites", "reports", "report_entries", "report_segments")
        },
        default=str,
    )
    for needle in (sentinel, "203.0.113.9", '"127.0.0.1"', "Mozilla", "python-httpx"):
        assert needle not in dump
    log = server.log.read_text()
    assert sentinel not in log and "203.0.113.9" not in log
    assert "POST /v1/aggregates" not in log  # the access log is off
    columns = {c for t in ("reports", "report_entries") for c in stored_rows(server, t)[0]}
    assert not columns & {"ip", "address", "user_agent", "ua", "cookie", "received_at"}


def test_dashboard_is_served_with_a_strict_csp(server: Server, client: httpx.Client) -> None:
    """``GET /dashboard`` on this loopback server: the demo site's page needs
    no token (tests/collector/test_experiments_api.py has the rest)."""
    assert client.get("/dashboard").status_code == 404  # no site named
    page = client.get("/dashboard", params={"site": "demo"})
    if page.status_code == 404 and "not built" in page.text:
        pytest.fail("static/ has no dashboard: run `python3 build.py`")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    """The store's SQLite engine (the one ``pytrigger serve`` uses) puts the
    file in WAL mode, which is persistent: every process on it, a plain
    ``sqlite3`` connection included, reads and writes it so.  (SQLite only,
    so it takes no parametrized server.)"""
    path = tmp_path / "collector.db"
    engine = store.connect(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        engine.dispose()
    with contextlib.closing(sqlite3.connect(path)) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
