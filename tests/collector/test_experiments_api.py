"""``GET /v1/report``'s ``experiments`` and ``health`` parts and ``GET
/dashboard``, through a real ``pytrigger serve`` on SQLite and PostgreSQL
(the token rule off loopback with an in-process app)."""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import uuid
from pathlib import Path

import httpx
import pytest
from collector_support import REPO, Server
from collector_traffic import session

from pytrigger.collector import store
from pytrigger.collector.app import create_app
from pytrigger.collector.experiment_report import ArmCounts, unlinkable_experiment
from pytrigger.collector.models import ReportFigures
from pytrigger.triggers import Privacy

LN3 = math.log(3)
HOUR = 490_000


def _send(server: Server, bodies: list[dict[str, object]]) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for body in bodies:
            response = client.post("/v1/aggregates", content=json.dumps(body))
            assert response.status_code == 202, response.text


@pytest.fixture(scope="module")
def filled(server: Server) -> str:
    """A site with 120 unlinkable sessions (A: 6 of 60 convert, B: 12 of 60)
    and 120 ldp ones, over 10 hours."""
    site = server.add_site(f"exp{uuid.uuid4().hex[:8]}")
    rng = random.Random(1)
    bodies = []
    for privacy in (Privacy(), Privacy("ldp", LN3)):
        for i in range(120):
            arm = "AB"[i % 2]
            converts = (i // 2) % 10 < (1 if arm == "A" else 2)
            bodies.append(session(site, privacy, arm, converts, HOUR + i % 10, rng))
    _send(server, bodies)
    return site


def _get(server: Server, **params: str) -> httpx.Response:
    return httpx.get(f"{server.url}/v1/report", params=params, timeout=30)


def test_report_has_experiments_and_health(server: Server, filled: str) -> None:
    response = _get(server, site=filled)
    assert response.status_code == 200, response.text
    body = response.json()
    ReportFigures.model_validate(body)  # the documented shape, exactly
    assert list(body) == [
        "site", "min_reports", "confidence", "latency_buckets_ms", "unlinkable", "ldp",
        "experiments", "health",
    ]  # fmt: skip
    experiments = body["experiments"]
    assert experiments["msprt_tau"] == 0.02 and experiments["weights"] is None
    (found,) = experiments["unlinkable"]["experiments"]
    expected = unlinkable_experiment(
        "search", [ArmCounts("A", 60, 60, 6), ArmCounts("B", 60, 60, 12)]
    )
    assert found == json.loads(json.dumps(expected))
    assert found["comparisons"][0]["lift"]["estimate"] == pytest.approx(1.0)
    (ldp,) = experiments["ldp"]["experiments"]
    assert [a["reports"] for a in ldp["arms"]] == [120, 120]

    health = body["health"]
    assert health["latency_budget_ms"] == 500 and health["recent_hours"] == 24
    (search,) = health["unlinkable"]["triggers"]
    assert health["unlinkable"]["hours"] == 10
    assert search["fires_per_hour"]["estimate"] == pytest.approx(12.0)
    assert search["funnel"]["goal"]["estimate"] == pytest.approx(18 / 120)
    assert search["dismissal_rate"]["estimate"] == 0.0
    assert search["latency"]["p50_ms"] == pytest.approx(16 + 16 * 60 / 120)  # all at 30 ms
    assert {a["alert"] for a in search["alerts"]} == {"saturated"}  # fires in every report
    assert [t["trigger"] for t in health["ldp"]["triggers"]] == ["search"]


def test_weights_for_the_sample_ratio_test(server: Server, filled: str) -> None:
    response = _get(server, site=filled, weights="1,3")
    assert response.status_code == 200
    experiments = response.json()["experiments"]
    assert experiments["weights"] == [1.0, 3.0]
    srm = experiments["unlinkable"]["experiments"][0]["srm"]
    assert srm["expected"] == [0.25, 0.75] and srm["srm"] is True  # 60/60 against 1:3
    for bad in ("0,1", "abc", "0.5", "1,,2", "-1,2"):
        refused = _get(server, site=filled, weights=bad)
        assert refused.status_code == 422, (bad, refused.text)


def _built() -> bool:
    return (REPO / "static" / "dashboard" / "index.html").is_file()


def test_dashboard_on_a_loopback_server(server: Server, filled: str) -> None:
    if not _built():
        pytest.fail("static/ has no dashboard: run `python3 build.py`")
    page = httpx.get(f"{server.url}/dashboard", params={"site": filled}, timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    scripts = re.findall(r"<script\b[^>]*>", page.text)
    assert scripts and all("src=" in tag for tag in scripts)  # nothing inline
    assert "/dashboard/uPlot.iife.min.js" in page.text and "/dashboard/dashboard.js" in page.text
    asset = httpx.get(f"{server.url}/dashboard/uPlot.iife.min.js", timeout=10)
    assert asset.status_code == 200 and asset.headers["content-type"].startswith("text/javascript")
    assert httpx.get(f"{server.url}/dashboard/index.html", timeout=10).status_code == 404
    assert httpx.get(f"{server.url}/dashboard", params={"site": "nope"}).status_code == 404
    assert httpx.get(f"{server.url}/dashboard").status_code == 404


def _asgi_get(app: object, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            return await client.get(url, headers=headers)

    return asyncio.run(go())


def test_dashboard_needs_the_read_token_off_loopback(db_url: str, tmp_path: Path) -> None:
    static = tmp_path / "static"
    (static / "dashboard").mkdir(parents=True)
    (static / "dashboard" / "index.html").write_text("<!doctype html><title>d</title>")
    (static / "dashboard" / "dashboard.js").write_text("// js\n")
    engine = store.connect(db_url)
    site = store.add_site(engine, "shop", ["https://shop.example"])
    token = store.set_token(engine, "shop")
    engine.dispose()
    app = create_app(db_url, static_dir=static, loopback=False)

    assert _asgi_get(app, "/dashboard").status_code == 401
    assert _asgi_get(app, f"/dashboard?site={site.key}").status_code == 401
    assert _asgi_get(app, f"/dashboard?site={site.key}&token=nope").status_code == 401
    assert _asgi_get(app, f"/dashboard?site=unknown&token={token}").status_code == 401
    page = _asgi_get(app, f"/dashboard?site={site.key}&token={token}")
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    bearer = _asgi_get(app, "/dashboard?site=shop", {"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200
    # the page's code is public (it holds no data); the page is not served there
    assert _asgi_get(app, "/dashboard/dashboard.js").status_code == 200
    assert _asgi_get(app, "/dashboard/index.html").status_code == 404
    assert _asgi_get(app, "/dashboard/").status_code == 404
    # the same token rule as /v1/report, and the report the page fetches
    assert _asgi_get(app, f"/v1/report?site={site.key}&weights=1,1").status_code == 401
    report = _asgi_get(app, f"/v1/report?site={site.key}&token={token}&weights=1,1")
    assert report.status_code == 200 and report.json()["experiments"]["weights"] == [1.0, 1.0]

    unbuilt = create_app(db_url, loopback=True)
    assert _asgi_get(unbuilt, f"/dashboard?site={site.key}").status_code == 404
