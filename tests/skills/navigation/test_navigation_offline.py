"""The offline map: routes on real streets with correct turns, progress maths, place search and picking."""

from __future__ import annotations

import asyncio
import itertools

import networkx as nx
import pytest

from skills.base import SkillError
from skills.navigation.geo import distance_m, hud_distance, project, spoken_distance, turn_action
from skills.navigation.offline_map import OfflineMap
from skills.navigation.places import choose, clean_query, search
from skills.navigation.progress import progress
from skills.navigation.skills import OfflineNavigation, choose_place

START = (30.2536, 120.1740)  # Jiefang Road, west of Zhonghe Middle Road
STATION = (30.2436, 120.1828)  # Hangzhou Railway Station
MAP = OfflineMap.load()


def _route(origin: tuple[float, float] = START, mode: str = "walking") -> dict:
    return MAP.route(origin, STATION, mode, "Hangzhou Railway Station")


def _along(route: dict, metres: float) -> tuple[float, float]:
    """The point `metres` along a route's polyline."""
    points = [tuple(p) for p in route["polyline"]]
    done = 0.0
    for a, b in itertools.pairwise(points):
        step = distance_m(a, b)
        if done + step >= metres:
            t = (metres - done) / step
            return a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
        done += step
    return points[-1]


def test_the_bundled_map_is_a_few_hundred_nodes_of_real_connected_streets() -> None:
    assert 300 <= MAP.graph.number_of_nodes() <= 700
    assert nx.is_connected(MAP.graph)
    names = {s["en"] for s in MAP.streets} | {s["zh"] for s in MAP.streets}
    assert {"Yan'an Road", "延安路", "Jiefang Road", "解放路", "Qingchun Road", "庆春路", "Hubin Road"} <= names
    for lat, lng in MAP.nodes:  # GCJ-02, east of West Lake
        assert 30.23 < lat < 30.29 and 120.15 < lng < 120.195
    assert {p["category"] for p in MAP.pois} >= {"station", "metro", "cafe", "mall", "hospital"}


def test_a_walk_to_the_station_follows_real_streets_with_the_right_turns() -> None:
    route = _route()
    steps = route["steps"]
    assert [s["street"] for s in steps] == [
        "Jiefang Road",
        "Youshengguan Road",
        "Xihu Avenue",
        "Station Square",
        "Hangzhou Railway Station",
    ]
    # east along Jiefang Road, south on Youshengguan Road (right), east on Xihu Avenue (left), south again (right)
    assert [s["action"] for s in steps] == ["straight", "right", "left", "right", "arrive"]
    assert steps[0]["instruction"] == "Head east on Jiefang Road"
    assert steps[1]["instruction"] == "Turn right onto Youshengguan Road"
    assert steps[2]["instruction"] == "Turn left onto Xihu Avenue"
    assert 1800 < route["distance_m"] < 2200 and route["duration_s"] == round(route["distance_m"] / 1.3)
    assert [s["at_m"] for s in steps] == sorted(s["at_m"] for s in steps)
    for step in steps[1:-1]:  # each manoeuvre is where the polyline bends
        assert min(distance_m((step["lat"], step["lng"]), tuple(p)) for p in route["polyline"]) < 1


def test_driving_keeps_off_pedestrian_streets_that_walking_uses() -> None:
    origin = (30.2540, 120.1700)
    walking = {s["street"] for s in _route(origin)["steps"]}
    driving = _route(origin, "driving")
    assert "Southern Song Imperial Street" in walking
    assert "Southern Song Imperial Street" not in {s["street"] for s in driving["steps"]}
    assert driving["duration_s"] == round(driving["distance_m"] / 8.0)


def test_places_outside_the_map_are_refused_with_a_clear_code() -> None:
    with pytest.raises(SkillError) as caught:
        MAP.route(START, (31.2304, 121.4737), "walking")  # People's Square, Shanghai
    assert caught.value.code == "OUT_OF_AREA"


def test_turns_are_named_from_bearings() -> None:
    assert turn_action(0, 90) == "right" and turn_action(0, 270) == "left"
    assert turn_action(90, 120) == "slight_right" and turn_action(90, 45) == "slight_left"
    assert turn_action(0, 10) == "straight" and turn_action(0, 180) == "u_turn"
    assert turn_action(0, 150) == "sharp_right"
    assert (hud_distance(123), spoken_distance(1234), hud_distance(7)) == ("120 m", "1.2 kilometres", "5 m")


def test_progress_names_the_next_manoeuvre_and_its_distance() -> None:
    route = _route()
    turn = route["steps"][1]["at_m"]
    state = progress(route, _along(route, turn - 200))
    assert (state["instruction"], state["action"]) == ("Turn right onto Youshengguan Road", "right")
    assert state["distance_m"] == pytest.approx(200, abs=2) and state["distance_text"] == "200 m"
    assert not state["off_route"] and not state["arrived"] and state["say"] == ""
    after = progress(route, _along(route, turn + 50), state)
    assert after["instruction"] == "Turn left onto Xihu Avenue" and after["street"] == "Xihu Avenue"


def test_one_stray_fix_is_noise_two_in_a_row_are_off_route() -> None:
    route = _route()
    on = progress(route, _along(route, 300))
    lat, lng = _along(route, 320)
    stray = progress(route, (lat + 0.0006, lng), on)  # ~65 m north of Jiefang Road
    assert stray["off_fixes"] == 1 and not stray["off_route"]
    back = progress(route, _along(route, 340), stray)
    assert back["off_fixes"] == 0
    again = progress(route, (lat + 0.0007, lng), progress(route, (lat + 0.0006, lng), back))
    assert again["off_route"]
    # a fix that says it is poor (80 m accuracy) must be farther away to count
    assert progress(route, (lat + 0.0004, lng), {**stray}, accuracy=50)["off_fixes"] == 0


def test_arrival_within_the_radius_of_the_destination() -> None:
    route = _route()
    near = progress(route, _along(route, route["distance_m"] - 60))
    assert not near["arrived"]
    lat, lng = STATION
    assert progress(route, (lat + 0.0001, lng), near)["arrived"]  # 11 m away


def test_each_manoeuvre_is_announced_once_when_near_and_once_when_due() -> None:
    route = _route()
    turn = route["steps"][1]["at_m"]
    said = []
    state: dict | None = None
    for before in range(300, 0, -10):
        state = progress(route, _along(route, turn - before), state)
        if state["say"]:
            said.append(state["say"])
    assert said == ["In 150 metres, turn right onto Youshengguan Road", "Turn right onto Youshengguan Road"]
    fresh = progress(route, _along(route, turn + 30), state)
    assert fresh["say"].startswith("Continue on Youshengguan Road for")
    # a new route (after re-routing) does not inherit what was said on the old one
    other = _route((30.2540, 120.1700))
    assert progress(other, _along(other, 5), state)["announced"] == []


def test_places_are_found_by_spoken_names_in_english_and_chinese() -> None:
    assert clean_query("Take me to the railway station please") == "railway station"
    for said in ("take me to the railway station", "带我去火车站", "杭州站怎么走", "Hangzhou Railway Statoin"):
        assert [p["name"] for p in search(MAP.pois, said)] == ["Hangzhou Railway Station"], said
    near_hubin = (30.2580, 120.1640)
    starbucks = search(MAP.pois, "navigate to Starbucks", near_hubin)
    assert [p["name"] for p in starbucks] == ["Starbucks Hubin", "Starbucks Wulin Square"]  # nearest first
    assert starbucks[0]["distance_m"] < starbucks[1]["distance_m"]
    assert len(search(MAP.pois, "a hospital", near_hubin)) == 2
    assert [p["name"] for p in search(MAP.pois, "中医院")] == ["Zhejiang Provincial Hospital of Chinese Medicine"]
    assert len(search(MAP.pois, "the First Hospital")) == 1
    assert {p["category"] for p in search(MAP.pois, "coffee")} == {"cafe"}
    assert search(MAP.pois, "Eiffel Tower") == []


def test_the_wearer_picks_among_offered_places_by_ordinal_or_name() -> None:
    options = ["Starbucks Hubin", "Starbucks Wulin Square", "Luckin Coffee Qingchun Road"]
    cases = {
        "the second one": 1,
        "第二个": 1,
        "number three": 2,
        "the last one": 2,
        "first": 0,
        "the one at Wulin Square": 1,
        "Luckin": 2,
        "the Hubin one": 0,
    }
    for said, index in cases.items():
        assert choose(said, options) == index, said
    assert choose("yes", options) is None
    picked = asyncio.run(choose_place({"text": "the second one", "options": [{"name": n} for n in options]}, None))
    assert picked == {"index": 1, "name": "Starbucks Wulin Square"}
    with pytest.raises(SkillError) as caught:
        asyncio.run(choose_place({"text": "the purple one", "options": options}, None))
    assert caught.value.code == "NO_MATCH"


def test_offline_skills_answer_like_the_online_ones() -> None:
    nav = OfflineNavigation()
    found = asyncio.run(nav.search_poi({"keywords": "Starbucks", "near": {"lat": 30.258, "lng": 120.164}}, None))
    assert found["names"] == ["1 Starbucks Hubin (45 m)", "2 Starbucks Wulin Square (1.8 km)"]
    assert found["listing"].startswith("I found 2 places. 1: Starbucks Hubin, 45 metres away;")
    place = asyncio.run(nav.geocode({"address": "Yan'an Road"}, None))
    assert place["level"] == "street" and abs(place["location"]["lng"] - 120.1665) < 0.001
    route = asyncio.run(nav.route({"origin": "120.1740,30.2536", "destination": found["pois"][0]}, None))
    assert route["destination"]["name"] == "Starbucks Hubin" and route["summary"].endswith("minutes' walk.")
    with pytest.raises(SkillError) as caught:
        asyncio.run(nav.route({"origin": None, "destination": found["pois"][0]}, None))
    assert caught.value.code == "NO_FIX"


def test_projection_never_jumps_back_behind_the_wearer() -> None:
    points = [(30.25, 120.17), (30.25, 120.171), (30.2505, 120.171), (30.2505, 120.17)]  # a U
    start = project((30.25022, 120.1701), points)
    later = project((30.25022, 120.1701), points, from_m=250)
    assert start.segment == 0 and later.segment == 2
