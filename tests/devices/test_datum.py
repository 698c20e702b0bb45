"""Position fixes come in as WGS-84 (GPS, phones, GPX) and reach flows and maps as GCJ-02."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from devices.datum import fix_in_map_datum, gcj02_to_wgs84, wgs84_to_gcj02
from devices.sim.scenario import gpx_events
from skills.navigation.geo import distance_m
from tests.support.bridge import receive, start_bridge
from tests.support.runtime import compile_text

# (WGS-84 lat, lng) -> (GCJ-02 lat, lng): the published pairs of the eviltransform test suite
PAIRS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]
OUTSIDE = [(48.8584, 2.2945), (40.6892, -74.0445), (35.6586, 139.7454), (-33.8568, 151.2153)]


@pytest.mark.parametrize(("wgs", "gcj"), PAIRS)
def test_published_pairs_convert_both_ways(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-8)
    assert distance_m(gcj02_to_wgs84(*gcj), wgs) < 0.01
    assert distance_m(wgs, gcj) > 100  # the shift is hundreds of metres, not noise


@pytest.mark.parametrize("point", OUTSIDE)
def test_outside_china_nothing_moves(point: tuple[float, float]) -> None:
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point


def test_a_gpx_track_in_wgs84_becomes_gcj02_fixes(tmp_path: Path) -> None:
    (wgs_lat, wgs_lng), (gcj_lat, gcj_lng) = PAIRS[2]
    track = tmp_path / "beijing.gpx"
    track.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        f'<trk><trkseg><trkpt lat="{wgs_lat}" lon="{wgs_lng}"/><trkpt lat="48.8584" lon="2.2945"/>'
        "</trkseg></trk></gpx>",
        encoding="utf-8",
    )
    beijing, paris = (event.data for event in gpx_events(track, 0))
    assert (beijing["lat"], beijing["lng"]) == pytest.approx((gcj_lat, gcj_lng), abs=1e-6)
    assert (paris["lat"], paris["lng"]) == (48.8584, 2.2945)


def test_the_demo_walk_is_a_wgs84_track_that_starts_on_jiefang_road() -> None:
    """The demo GPX is a realistic phone track: read as recorded it starts on another street of the GCJ-02 map."""
    from skills.navigation.offline_map import OfflineMap

    offline = OfflineMap.load()
    track = Path(__file__).parents[2] / "docs" / "examples" / "walk.gpx"
    first = gpx_events(track, 0)[0].data
    snap = offline.snap((first["lat"], first["lng"]))
    assert offline.street_name(offline.graph[snap.u][snap.v]["street"]) == "Jiefang Road" and snap.offset_m < 15


def test_fix_payloads_convert_unless_the_phone_says_gcj02() -> None:
    (wgs_lat, wgs_lng), gcj = PAIRS[0]
    moved = fix_in_map_datum({"lat": wgs_lat, "lng": wgs_lng, "accuracy": 4.0})
    assert (moved["lat"], moved["lng"]) == pytest.approx(gcj, abs=1e-6) and moved["accuracy"] == 4.0
    kept = fix_in_map_datum({"lat": gcj[0], "lng": gcj[1], "datum": "GCJ-02"})
    assert kept == {"lat": gcj[0], "lng": gcj[1]}
    with pytest.raises(ValueError, match="wgs84 or gcj02"):
        fix_in_map_datum({"lat": 1.0, "lng": 2.0, "datum": "bd09"})


FLOW = textwrap.dedent(
    """\
    flow: where
    permissions: [display, location]
    requires: [display]
    initial: a
    states:
      a:
        on:
          location.update:
            do: [{hud.show: {layout: toast, text: "{{ string(event.lat) }} {{ string(event.lng) }}"}}]
    """
)


def test_a_phone_fix_over_the_bridge_reaches_the_flow_in_gcj02() -> None:
    (wgs_lat, wgs_lng), (gcj_lat, gcj_lng) = PAIRS[2]

    async def scenario() -> list[str]:
        _bridge, server, url = await start_bridge({"where": compile_text(FLOW)})
        shown: list[str] = []
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "g", "flow": "where"}))
            fix = {"lat": wgs_lat, "lng": wgs_lng, "accuracy": 5.0}
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "location.update", "data": fix}))
            got = await receive(ws, lambda m: m.get("type") == "command" and m.get("action") == "hud.show")
            shown += [m["args"]["text"] for m in got if m.get("type") == "command" and m.get("action") == "hud.show"]
            bad = {"lat": wgs_lat, "lng": wgs_lng, "datum": "bd09"}
            await ws.send(json.dumps({"type": "event", "seq": 2, "name": "location.update", "data": bad}))
            error = await receive(ws, lambda m: m.get("type") == "error")
            shown.append(error[-1]["code"])
        server.close()
        await server.wait_closed()
        return shown

    text, code = asyncio.run(scenario())
    lat, lng = (float(v) for v in text.split())
    assert (lat, lng) == pytest.approx((gcj_lat, gcj_lng), abs=1e-6)
    assert code == "BAD_EVENT"
