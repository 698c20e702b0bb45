"""The AMap provider against a local server speaking AMap's wire format: shapes parsed, errors mapped, retries."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from skills.base import SkillError
from skills.navigation.amap import AmapNavigation, AmapSettings
from tests.support.servers.amap import KEY, AmapServer

STATION = {"lat": 30.2436, "lng": 120.1828, "name": "杭州站"}
HERE = {"lat": 30.2536, "lng": 120.1740}


class Context:
    """What the runner hands a skill, with a sleep that only records (backoff is checked, never waited)."""

    def __init__(self) -> None:
        self.slept: list[int] = []

    async def sleep(self, ms: int) -> None:
        self.slept.append(ms)


@pytest.fixture
def amap() -> Iterator[AmapServer]:
    with AmapServer() as server:
        yield server


def _nav(server: AmapServer, **changes: Any) -> AmapNavigation:
    return AmapNavigation(AmapSettings(**{"key": KEY, "url": server.url, "timeout_s": 5.0, **changes}))


def _call(coro: Any) -> Any:
    return asyncio.run(coro)


def _error(coro: Any) -> SkillError:
    with pytest.raises(SkillError) as caught:
        asyncio.run(coro)
    return caught.value


def test_place_search_parses_pois_and_sends_the_key(amap: AmapServer) -> None:
    found = _call(_nav(amap, city="杭州").search_poi({"keywords": "带我去杭州站", "near": HERE, "limit": 2}, Context()))
    assert [p["name"] for p in found["pois"]] == ["杭州站", "城站(地铁站)"]
    assert found["pois"][0]["lat"] == 30.2436 and found["pois"][0]["lng"] == 120.1828
    assert found["pois"][0]["address"] == "环城东路1号" and 1000 < found["pois"][0]["distance_m"] < 1500
    path, query = amap.requests[-1]
    assert path == "/v5/place/text"
    assert query["key"] == KEY and query["keywords"] == "杭州站" and query["region"] == "杭州"
    assert query["page_size"] == "2"


def test_geocode_parses_the_location_string(amap: AmapServer) -> None:
    place = _call(_nav(amap).geocode({"address": "环城东路1号", "city": "杭州"}, Context()))
    assert place == {
        "location": {"lat": 30.2436, "lng": 120.1828},
        "formatted": "浙江省杭州市上城区环城东路1号",
        "level": "门牌号",
    }


@pytest.mark.parametrize("mode", ["walking", "driving"])
def test_routes_become_the_project_route_document(amap: AmapServer, mode: str) -> None:
    route = _call(_nav(amap).route({"origin": HERE, "destination": STATION, "mode": mode}, Context()))
    path, query = amap.requests[-1]
    assert path == f"/v5/direction/{mode}"
    assert query["origin"] == "120.174000,30.253600" and query["destination"] == "120.182800,30.243600"
    assert "navi" in query["show_fields"] and "polyline" in query["show_fields"]
    assert route["source"] == "amap" and route["mode"] == mode
    # south along 延安路, then left (east) onto 解放路, then arrive
    assert [s["action"] for s in route["steps"]] == ["straight", "left", "arrive"]
    assert route["steps"][0]["instruction"] == "Head south on 延安路"
    assert route["steps"][1]["instruction"] == "Turn left onto 解放路"
    assert route["steps"][1]["instruction_zh"].startswith("向东")
    assert route["polyline"][0] == [30.2536, 120.174] and route["polyline"][-1] == [30.2436, 120.1828]
    corner = route["steps"][1]
    assert (corner["lat"], corner["lng"]) == (30.2436, 120.174)
    assert 1100 < corner["at_m"] < 1120 and route["distance_m"] == pytest.approx(route["steps"][-1]["at_m"], abs=5)


@pytest.mark.parametrize(
    ("infocode", "code"),
    [("10003", "QUOTA_EXCEEDED"), ("20800", "OUT_OF_AREA"), ("20803", "OUT_OF_AREA"), ("20000", "BAD_REQUEST")],
)
def test_amap_errors_become_codes_a_flow_can_branch_on(amap: AmapServer, infocode: str, code: str) -> None:
    amap.fail(infocode)
    error = _error(_nav(amap).route({"origin": HERE, "destination": STATION}, Context()))
    assert error.code == code and infocode in error.message


def test_a_refused_key_is_named_as_such(amap: AmapServer) -> None:
    error = _error(_nav(amap, key="wrong").search_poi({"keywords": "杭州站"}, Context()))
    assert error.code == "UNAUTHORIZED" and "LENSFLOW_AMAP_KEY" in error.message


def test_the_per_second_limit_is_retried_with_backoff(amap: AmapServer) -> None:
    amap.fail("10021", times=2)
    ctx = Context()
    route = _call(_nav(amap).route({"origin": HERE, "destination": STATION}, ctx))
    assert route["steps"] and amap.calls("/v5/direction/walking") == 3
    assert ctx.slept == [300, 600]


def test_the_per_second_limit_gives_up_after_the_retries(amap: AmapServer) -> None:
    amap.fail("10021", times=10)
    ctx = Context()
    error = _error(_nav(amap, retries=2).search_poi({"keywords": "杭州站"}, ctx))
    assert error.code == "RATE_LIMITED" and amap.calls("/v5/place/text") == 3 and len(ctx.slept) == 2


def test_a_slow_answer_is_a_timeout(amap: AmapServer) -> None:
    amap.slow(2.0)
    error = _error(_nav(amap, timeout_s=0.2).geocode({"address": "杭州站"}, Context()))
    assert error.code == "TIMEOUT"


def test_an_unreachable_service_is_a_clear_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nav = AmapNavigation(AmapSettings(key=KEY, url=f"http://127.0.0.1:{port}", timeout_s=2.0))
    error = _error(nav.route({"origin": HERE, "destination": STATION}, Context()))
    assert error.code == "UNAVAILABLE" and f"127.0.0.1:{port}" in error.message


def test_the_registry_uses_amap_only_with_a_key(amap: AmapServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from skills.registry import skills_for_device

    monkeypatch.setenv("LENSFLOW_LLM_BASE_URL", "https://unset.invalid/v1")
    monkeypatch.setenv("LENSFLOW_LLM_API_KEY_ENV", "LENSFLOW_UNSET")
    monkeypatch.delenv("LENSFLOW_AMAP_KEY", raising=False)
    offline = skills_for_device()["navigation.search_poi"]
    assert _call(offline({"keywords": "railway station"}, Context()))["source"] == "offline"
    monkeypatch.setenv("LENSFLOW_AMAP_KEY", KEY)
    monkeypatch.setenv("LENSFLOW_AMAP_URL", amap.url)
    online = skills_for_device()["navigation.search_poi"]
    found = _call(online({"keywords": "杭州站"}, Context()))
    assert found["source"] == "amap" and found["names"][0] == "1 杭州站"
