"""``GET /v1/report``: the 50-report floor, both modes' figures, and the read
token (required off loopback; checked with an in-process app)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
import pytest
from collector_reports import report
from collector_support import Server, pytrigger

from pytrigger.collector import store
from pytrigger.collector.app import create_app


def _send(server: Server, site: str, bodies: list[dict[str, object]]) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for body in bodies:
            response = client.post("/v1/aggregates", content=json.dumps(body))
            assert response.status_code == 202, response.text


def _figures(server: Server, site: str) -> dict[str, object]:
    response = httpx.get(f"{server.url}/v1/report", params={"site": site}, timeout=30)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_the_50_report_floor(server: Server) -> None:
    site = server.add_site(f"floor{uuid.uuid4().hex[:8]}")
    _send(server, site, [report(site, fired=i % 2 == 0) for i in range(49)])
    below = _figures(server, site)["unlinkable"]
    assert below["reports"] == 49  # type: ignore[index]
    # an entry carried by fewer than 50 reports is not even listed
    assert below["triggers"] == [] and below["withheld_entries"] == 1  # type: ignore[index]
    assert below["segments"] == {}  # type: ignore[index]
    assert below["no_segment"] == {"withheld": True, "reports": 49}  # type: ignore[index]

    _send(server, site, [report(site, fired=True)])
    figures = _figures(server, site)["unlinkable"]
    (help_a,) = figures["triggers"]  # type: ignore[index]
    assert (help_a["trigger"], help_a["arm"], help_a["reports"]) == ("help", "A", 50)
    fire = help_a["per_report"]["fire"]
    assert fire["estimate"] == pytest.approx(26 / 50)
    assert fire["low"] < 26 / 50 < fire["high"] and fire["reports"] == 50
    assert help_a["per_exposure"]["goal"]["estimate"] == pytest.approx(26 / 50)
    assert help_a["per_report"]["suppressed.cooldown"]["estimate"] == pytest.approx(24 / 50)
    assert help_a["per_report"]["latency.5"]["estimate"] == pytest.approx(26 / 50)  # 20 ms
    assert figures["segments"]["new"]["estimate"] == 1.0  # type: ignore[index]
    assert figures["withheld_entries"] == 0  # type: ignore[index]
    # a figure over a base under 50 is withheld even when its entry is listed
    assert help_a["per_exposure"]["fire"]["reports"] == 50


def test_figures_on_fewer_than_50_exposed_reports_are_withheld(server: Server) -> None:
    site = server.add_site(f"exp{uuid.uuid4().hex[:8]}")
    bodies = [report(site, fired=i < 10) for i in range(50)]
    for body in bodies[10:]:  # 40 sessions without the 'help' exposure
        body["triggers"][0]["exposure"] = 0
    _send(server, site, bodies)
    (help_a,) = _figures(server, site)["unlinkable"]["triggers"]  # type: ignore[index]
    assert help_a["per_report"]["exposure"]["estimate"] == pytest.approx(10 / 50)
    assert help_a["per_exposure"]["fire"] == {"withheld": True, "reports": 10}


def test_figures_count_the_latest_snapshot_of_each_session(server: Server) -> None:
    """50 sessions send a first snapshot (suppressed, not fired), then a later
    one (fired), then the first again: the figures are those of the later
    snapshots, over 50 reports."""
    site = server.add_site(f"snap{uuid.uuid4().hex[:8]}")
    seeds = [uuid.uuid4().int for _ in range(50)]
    first = [report(site, seed=seed, fired=False, segment="new") for seed in seeds]
    later = [report(site, seed=seed, fired=True, segment="power", seq=1) for seed in seeds]
    _send(server, site, first)
    (help_a,) = _figures(server, site)["unlinkable"]["triggers"]  # type: ignore[index]
    assert help_a["per_report"]["suppressed.cooldown"]["estimate"] == 1.0
    _send(server, site, later)
    _send(server, site, first)  # re-sent late: changes nothing
    figures = _figures(server, site)["unlinkable"]
    assert figures["reports"] == 50  # type: ignore[index]
    (help_a,) = figures["triggers"]  # type: ignore[index]
    assert help_a["reports"] == 50
    assert help_a["per_report"]["fire"]["estimate"] == 1.0
    assert help_a["per_report"]["goal"]["estimate"] == 1.0
    assert help_a["per_report"]["suppressed.cooldown"]["estimate"] == 0.0
    assert help_a["per_report"]["latency.5"]["estimate"] == 1.0  # 20 ms
    assert set(figures["segments"]) == {"power"}  # type: ignore[index]
    assert figures["segments"]["power"]["estimate"] == 1.0  # type: ignore[index]


def test_ldp_figures_are_debiased(server: Server) -> None:
    site = server.add_site(f"ldp{uuid.uuid4().hex[:8]}")
    n = 400
    _send(server, site, [report(site, mode="ldp", seed=i, fired=i < 200) for i in range(n)])
    ldp = _figures(server, site)["ldp"]
    assert ldp["reports"] == n and ldp["epsilons"] == [pytest.approx(1.0986122886681098)]  # type: ignore[index]
    by_entry = {(t["trigger"], t["arm"]): t for t in ldp["triggers"]}  # type: ignore[index]
    assert set(by_entry) == {("help", "A"), ("help", "B"), ("exit", None)}
    truths = {
        ("help", "A", "exposure"): 1.0,
        ("help", "A", "fire"): 0.5,
        ("help", "A", "goal"): 0.5,
        ("help", "A", "suppressed.cooldown"): 0.5,
        ("help", "B", "fire"): 0.0,
        ("exit", None, "exposure"): 0.0,
    }
    # the largest standard error of a debiased share: sqrt(1/4 / (n (p - q)^2)) = 0.05
    worst_se = 0.5 / (n**0.5 * 0.5)
    for (trigger, arm, metric), truth in truths.items():
        found = by_entry[(trigger, arm)]["per_report"][metric]
        assert found["reports"] == n
        assert abs(found["estimate"] - truth) < 4 * worst_se, (trigger, arm, metric, found)
        assert 0 <= found["low"] <= found["high"] <= 1
    assert ldp["segments"]["new"]["reports"] == n  # type: ignore[index]


def _asgi_get(app: object, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            return await client.get(url, headers=headers)

    return asyncio.run(go())


def test_read_token_is_required_off_loopback(db_url: str, tmp_path: Path) -> None:
    engine = store.connect(db_url)
    site = store.add_site(engine, "shop", ["https://shop.example"])
    token = pytrigger("site", "token", "shop", "--db", db_url).stdout.split()[-1]
    app = create_app(db_url, loopback=False)

    assert _asgi_get(app, f"/v1/report?site={site.key}").status_code == 401
    wrong = _asgi_get(app, f"/v1/report?site={site.key}", {"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    # an unknown site looks the same as a wrong token: nothing to probe
    assert _asgi_get(app, f"/v1/report?site=unknown&token={token}").status_code == 401
    bearer = _asgi_get(app, f"/v1/report?site={site.key}", {"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 200 and bearer.json()["site"] == "shop"
    assert _asgi_get(app, f"/v1/report?site=shop&token={token}").status_code == 200
    assert _asgi_get(app, "/dashboard").status_code == 401  # the same token rule

    # a new token replaces the old one
    pytrigger("site", "token", "shop", "--db", db_url)
    assert _asgi_get(app, f"/v1/report?site={site.key}&token={token}").status_code == 401

    local = create_app(db_url, loopback=True)
    assert _asgi_get(local, f"/v1/report?site={site.key}").status_code == 200
    assert _asgi_get(local, "/v1/report?site=unknown").status_code == 404
    engine.dispose()


def test_loopback_server_needs_no_token(server: Server) -> None:
    response = httpx.get(f"{server.url}/v1/report", params={"site": "demo"}, timeout=10)
    assert response.status_code == 200
    assert response.json()["min_reports"] == 50
