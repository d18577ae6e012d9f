"""``POST /v1/aggregates`` in batches, in-process (``create_app`` over ASGI,
on SQLite and PostgreSQL): many reports posted at once are all stored, in
fewer transactions than reports; when the database fails a batch, every
request waiting on it gets 503 with ``Retry-After`` and nothing of it is
stored; snapshots of one session posted at once leave the latest; and the
bare ASGI path answers exactly as the declared FastAPI route does."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from collector_reports import report
from sqlalchemy import select, text

from pytrigger.collector import store
from pytrigger.collector.app import CollectorApp, create_app

ORIGIN = "https://batches.example"


@pytest.fixture
def app(db_url: str) -> Iterator[CollectorApp]:
    engine = store.connect(db_url)
    store.add_site(engine, "batches", [ORIGIN], rate=1e6, burst=10**6, key="batches")
    engine.dispose()
    collector = create_app(db_url)
    yield collector
    collector.state.engine.dispose()


async def _post_all(app: CollectorApp, bodies: list[Any], **headers: str) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
        sent = {"Origin": ORIGIN, "Content-Type": "text/plain;charset=UTF-8"} | headers
        return list(
            await asyncio.gather(
                *(
                    client.post(
                        "/v1/aggregates",
                        content=body if isinstance(body, bytes) else json.dumps(body),
                        headers=sent,
                    )
                    for body in bodies
                )
            )
        )


def _report_ids(app: CollectorApp) -> dict[str, int]:
    with app.state.engine.connect() as conn:
        rows = conn.execute(select(store.reports.c.report_id, store.reports.c.seq)).all()
    return {row.report_id: row.seq for row in rows}


def test_many_reports_at_once_are_all_stored_in_fewer_transactions(app: CollectorApp) -> None:
    bodies = [report("batches", seed=i) for i in range(120)]
    responses = asyncio.run(_post_all(app, bodies))
    assert [r.status_code for r in responses] == [202] * 120
    assert all(r.json() == {"status": "accepted"} for r in responses)
    assert set(_report_ids(app)) == {body["report_id"] for body in bodies}
    writer = app.state.ingest.writer
    assert writer.items == 120 and writer.batches < 120


def test_snapshots_posted_at_once_leave_the_latest(app: CollectorApp) -> None:
    snapshots = [report("batches", seed=77, seq=seq) for seq in range(8)] * 2
    random.Random(5).shuffle(snapshots)
    responses = asyncio.run(_post_all(app, snapshots))
    assert [r.status_code for r in responses] == [202] * len(snapshots)
    assert _report_ids(app) == {snapshots[0]["report_id"]: 7}
    with app.state.engine.connect() as conn:
        assert len(conn.execute(select(store.report_entries)).all()) == 1


def test_a_database_failure_answers_every_waiting_request_with_503(app: CollectorApp) -> None:
    """The entries' table is gone: each batch's reports upsert succeeds, its
    entries insert fails, and the transaction is rolled back."""
    stored = report("batches", seed=1)
    assert asyncio.run(_post_all(app, [stored]))[0].status_code == 202
    with app.state.engine.begin() as conn:
        cascade = " CASCADE" if conn.dialect.name == "postgresql" else ""
        conn.execute(text(f"DROP TABLE report_entries{cascade}"))
    bodies = [report("batches", seed=i) for i in range(2, 40)]
    responses = asyncio.run(_post_all(app, bodies))
    assert [r.status_code for r in responses] == [503] * len(bodies)
    for response in responses:
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "could not be stored" in response.json()["detail"]
    assert _report_ids(app) == {stored["report_id"]: 0}  # nothing half-way


REQUESTS: list[tuple[bytes, dict[str, str]]] = [
    (json.dumps(report("batches", seed=3)).encode(), {"Origin": ORIGIN}),
    (json.dumps(report("batches", seed=3)).encode(), {}),  # a duplicate, no Origin
    (json.dumps(report("batches", seed=4)).encode(), {"Origin": "https://evil.example"}),
    (json.dumps(report("nobody")).encode(), {"Origin": ORIGIN}),
    (b"{not json", {"Origin": ORIGIN}),
    (b"[1]", {"Origin": ORIGIN}),
    (json.dumps(report("batches") | {"seq": -1}).encode(), {"Origin": ORIGIN}),
    (b" " * 70_000, {"Origin": ORIGIN}),
]


def _answers(app: CollectorApp) -> list[tuple[int, Any, dict[str, str]]]:
    out = []
    for body, headers in REQUESTS:
        (response,) = asyncio.run(_post_all(app, [body], **headers))
        kept = {k: v for k, v in response.headers.items() if k != "date"}
        out.append((response.status_code, response.json(), kept))
    return out


def test_the_bare_asgi_path_answers_as_the_declared_route(db_url: str) -> None:
    engine = store.connect(db_url)
    store.add_site(engine, "batches", [ORIGIN], key="batches")
    engine.dispose()
    fast, routed = create_app(db_url), create_app(db_url)
    routed.ingest = None  # through FastAPI's routing and middleware
    try:
        answers = _answers(fast)
        assert answers == _answers(routed)
    finally:
        fast.state.engine.dispose()
        routed.state.engine.dispose()
    assert [status for status, _, _ in answers] == [202, 202, 403, 403, 422, 422, 422, 413]
