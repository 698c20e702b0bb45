"""The navigate flow end to end through `cli.py simulate`: a GPX walk turn by turn, re-routing, choosing, audio-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import ROOT
from tests.support.cli import run_cli
from tests.support.servers.amap import KEY, AmapServer

EXAMPLES = ROOT / "docs" / "examples"
OFFLINE = {
    "LENSFLOW_LLM_BASE_URL": "https://unset.invalid/v1",
    "LENSFLOW_LLM_API_KEY_ENV": "LENSFLOW_UNSET",
    "LENSFLOW_AMAP_KEY": "",
}


def _simulate(scenario: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    proc = run_cli(
        "simulate",
        "flows/navigate.yaml",
        "--scenario",
        str(scenario),
        "--out",
        str(out),
        "--no-audio",
        "--json",
        *extra,
        env={**OFFLINE, "LENSFLOW_DATA": str(out / "data"), **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "navigate.scenario.yaml"
    path.write_text(text.replace("GPX", str(EXAMPLES / "walk.gpx")), encoding="utf-8")
    return path


def _routes(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in lines if e["kind"] == "invoke" and e.get("skill") == "navigation.route" and "args" in e]


def _nav_frames(lines: list[dict[str, Any]]) -> list[list[str]]:
    return [e["lines"] for e in lines if e["kind"] == "hud" and e.get("layout") == "nav"]


def _spoken(lines: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in lines if e["kind"] == "spoken"]


def test_the_demo_walk_is_guided_turn_by_turn_to_the_station(tmp_path: Path) -> None:
    lines = _simulate(EXAMPLES / "navigate.scenario.yaml", tmp_path / "walk")
    end = lines[-1]
    assert end["final"] == "arrived" and end["vars"]["place"]["name"] == "Hangzhou Railway Station"
    frames = _nav_frames(lines)
    assert frames[0] == ["↑ 2.0 km · 25 min", "Hangzhou Railway Station", "Head east on Jiefang Road"]
    turns = [f for f in frames if f[2:] == ["Turn right onto Youshengguan Road"]]
    assert len(turns) > 5 and all(f[0].startswith("→ ") and f[1] == "Youshengguan Road" for f in turns)
    distances = [int(f[0].split()[1]) for f in turns if f[0].endswith(" m")]
    assert distances == sorted(distances, reverse=True)  # counting down to the turn
    assert [
        next(f for f in frames if "Xihu" in f[1])[0][0],
        *next(f for f in frames if "Xihu" in f[1])[1:],
    ] == ["←", "Xihu Avenue", "Turn left onto Xihu Avenue"]
    assert frames[-1] == ["◎", "Hangzhou Railway Station", "You have arrived"]
    assert len(_routes(lines)) == 1
    assert len(list((tmp_path / "walk" / "frames").glob("*_nav.png"))) >= len(frames) - 1


def test_a_place_named_in_the_words_that_start_navigation_is_not_asked_for(tmp_path: Path) -> None:
    scenario = _scenario(tmp_path, "start: idle\nevents:\n  - {at: 1s, say: navigate to West Lake}\nuntil: 3s\n")
    lines = _simulate(scenario, tmp_path / "out")
    # before, "Where to?" was said and then the place looked up all the same
    assert [e for e in lines if e["kind"] == "prompt"] == []
    assert any(e["kind"] == "invoke" and e.get("skill") == "navigation.search_poi" for e in lines)


def test_leaving_the_route_recalculates_from_where_the_wearer_is(tmp_path: Path) -> None:
    lines = _simulate(EXAMPLES / "navigate_offroute.scenario.yaml", tmp_path / "off")
    end = lines[-1]
    assert end["final"] == "arrived"
    routes = _routes(lines)
    assert len(routes) == 2
    first, second = (r["args"]["origin"] for r in routes)
    assert second["lng"] > 120.1790  # on Jiefang Road, past the missed turn onto Youshengguan Road
    assert abs(second["lat"] - 30.2535) < 0.0003 and second != first
    assert "Recalculating" in _spoken(lines)
    streets = [f[1] for f in _nav_frames(lines)]
    assert "Jianguo Middle Road" in streets  # the new route turns at the next street instead
    assert streets.index("Jianguo Middle Road") > streets.index("Youshengguan Road")


def test_several_matches_are_offered_and_the_wearer_picks_by_voice(tmp_path: Path) -> None:
    scenario = _scenario(
        tmp_path,
        "events:\n"
        "  - {at: 0s, event: location.update, data: {lat: 30.2580, lng: 120.1640}}\n"
        "  - {at: 1s, say: take me to Starbucks}\n"
        "  - {at: 3s, say: the second one}\n",
    )
    lines = _simulate(scenario, tmp_path / "pick")
    lists = [e["lines"] for e in lines if e["kind"] == "hud" and e.get("layout") == "list"]
    assert lists[0][1:] == ["› 1 Starbucks Hubin (45 m)", "  2 Starbucks Wulin Square (1.8 km)"]
    assert any(s.startswith("I found 2 places. 1: Starbucks Hubin") for s in _spoken(lines))
    end = lines[-1]
    assert end["vars"]["place"]["name"] == "Starbucks Wulin Square"
    assert end["vars"]["route"]["destination"]["name"] == "Starbucks Wulin Square"
    assert end["states"] == ["guiding"]


def test_a_misheard_west_lake_is_found_by_sound_and_routed_to(tmp_path: Path) -> None:
    scenario = _scenario(
        tmp_path,
        "events:\n"
        "  - {at: 0s, event: location.update, data: {lat: 30.2536, lng: 120.1740}}\n"
        "  - {at: 1s, say: 导航到溪湖}\n",  # speech recognition wrote 溪湖 for 西湖
    )
    end = _simulate(scenario, tmp_path / "xihu")[-1]
    assert end["vars"]["place"]["name"] == "Hubin Park"  # 西湖 is one of its names
    assert end["vars"]["route"]["destination"]["name"] == "Hubin Park"


def test_a_place_can_be_picked_by_gesture_and_a_wrong_answer_asks_again(tmp_path: Path) -> None:
    scenario = _scenario(
        tmp_path,
        "events:\n"
        "  - {at: 0s, event: location.update, data: {lat: 30.2580, lng: 120.1640}}\n"
        "  - {at: 1s, say: coffee}\n"
        "  - {at: 2s, say: the purple one}\n"
        "  - {at: 3s, gesture: swipe_up}\n"
        "  - {at: 4s, gesture: swipe_up}\n"
        "  - {at: 5s, gesture: tap}\n",
    )
    lines = _simulate(scenario, tmp_path / "gesture")
    assert "Sorry, which one? Say first, second, or its name." in _spoken(lines)
    frames = [e["lines"] for e in lines if e["kind"] == "hud" and e.get("layout") == "list"]
    assert frames[-1][0] == "Which one? Tap to pick" and frames[-1][3].startswith("› 3 ")  # the third is marked
    end = lines[-1]
    assert end["vars"]["place"]["name"] == end["vars"]["places"]["pois"][2]["name"]


def test_without_a_display_guidance_is_spoken_at_the_turns_not_on_every_fix(tmp_path: Path) -> None:
    lines = _simulate(EXAMPLES / "navigate.scenario.yaml", tmp_path / "audio", "--profile", "audio-only")
    end = lines[-1]
    assert end["final"] == "arrived"
    assert not [e for e in lines if e["kind"] == "hud"]
    fixes = [e for e in lines if e["kind"] == "event" and e.get("event", e.get("name")) == "location.update"]
    spoken = _spoken(lines)
    assert "Turn right onto Youshengguan Road" in spoken and "Turn left onto Xihu Avenue" in spoken
    assert any(s.startswith("In ") and s.endswith("turn right onto Youshengguan Road") for s in spoken)
    assert spoken[-1] == "You have arrived at Hangzhou Railway Station."
    assert len(spoken) < 20 < len(fixes)


def test_the_flow_runs_on_amap_and_says_when_a_place_is_out_of_its_area(tmp_path: Path) -> None:
    scenario = _scenario(
        tmp_path,
        "events:\n"
        "  - {at: 0s, event: location.update, data: {lat: 30.2536, lng: 120.1740}}\n"
        "  - {at: 1s, say: 杭州站}\n"
        "  - {at: 2s, say: 第一个}\n",
    )
    with AmapServer() as amap:
        env = {"LENSFLOW_AMAP_KEY": KEY, "LENSFLOW_AMAP_URL": amap.url}
        lines = _simulate(scenario, tmp_path / "amap", env=env)
        end = lines[-1]
        assert end["vars"]["route"]["source"] == "amap" and end["states"] == ["guiding"]
        assert _nav_frames(lines)[0][2] == "Head south on 延安路"
        amap.queue("ok")  # the place search answers, the route is refused
        amap.fail("20800")
        lines = _simulate(scenario, tmp_path / "amap_far", env=env)
    assert lines[-1]["final"] == "out_of_area"
