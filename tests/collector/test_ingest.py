"""``POST /v1/aggregates`` against a real ``pytrigger serve`` process, on
SQLite and on PostgreSQL: every status, in the order of cost, CORS, de-dup,
and that nothing about the client is stored or logged."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from collector_reports import report
from collector_support import Server
from sqlalchemy import MetaData, create_engine, select

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


def test_accepts_application_json_and_ldp(server: Server, site: str, client: httpx.Client) -> None:
    body = report(site, mode="ldp", seed=5)
    response = post(client, body, server.origin, **{"Content-Type": "application/json"})
    assert response.status_code == 202, response.text


def test_duplicate_report_id_is_stored_once(
    server: Server, site: str, client: httpx.Client
) -> None:
    body = report(site, seed=99)
    assert post(client, body, server.origin).status_code == 202
    assert post(client, body, server.origin).status_code == 202
    mine = [r for r in stored_rows(server, "reports") if r["report_id"] == body["report_id"]]
    assert len(mine) == 1
    entries = [e for e in stored_rows(server, "report_entries") if e["report_pk"] == mine[0]["id"]]
    assert len(entries) == 1  # the active entry, once


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


def test_dashboard_is_not_there_yet(server: Server, client: httpx.Client) -> None:
    assert client.get("/dashboard").status_code == 404


def test_sqlite_runs_in_wal_mode(server: Server) -> None:
    if not server.db_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    engine = create_engine(server.db_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
