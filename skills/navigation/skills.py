"""The navigation.* skills flows invoke, and which provider answers them.

Offline (the embedded default) the bundled map answers: fuzzy place search in
English and Chinese, shortest routes on its street graph. With an AMap key
(`LENSFLOW_AMAP_KEY`) geocoding, place search and routes go to AMap instead.
Progress along a route and choosing among offered places are the same either
way: they read only the route document and the words the wearer said.

    navigation.search_poi  {keywords, near?, city?, limit?} -> {pois: [{name, lat, lng, ...}], query}
    navigation.geocode     {address, city?}                 -> {location: {lat, lng}, formatted}
    navigation.route       {origin, destination, mode?}     -> route document (skills.navigation.offline_map)
    navigation.progress    {route, lat, lng, accuracy?, previous?} -> instruction, distance, off_route, arrived, say
    navigation.choose      {text, options}                  -> {index, name}

Every position these skills take or return is GCJ-02, the datum of AMap and the
bundled map; the devices convert the WGS-84 fixes of phones and GPX tracks
before a flow sees them (`devices.datum`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from rapidfuzz import fuzz, utils

from skills.base import SkillError
from skills.navigation.geo import hud_distance, point_of, spoken_distance
from skills.navigation.places import SOUND_SCORE, choose, clean_query, search, sounds_in
from skills.navigation.progress import progress as track

__all__ = [
    "OfflineNavigation",
    "Skill",
    "choose_place",
    "described",
    "embedded_skills",
    "offered",
    "online_skills",
    "progress",
]

Skill = Callable[[dict[str, Any], Any], Awaitable[Any]]
_CJK = re.compile(r"[\u4e00-\u9fff]")


def offered(result: dict[str, Any]) -> dict[str, Any]:
    """Add what a flow shows and says when several places match: numbered `names` and a spoken `listing`."""
    pois = result.get("pois") or []
    names, spoken = [], []
    for number, poi in enumerate(pois, 1):
        away = poi.get("distance_m")
        names.append(f"{number} {poi['name']}" + (f" ({hud_distance(away)})" if away is not None else ""))
        spoken.append(f"{number}: {poi['name']}" + (f", {spoken_distance(away)} away" if away is not None else ""))
    listing = f"I found {len(pois)} places. " + "; ".join(spoken) + "." if len(pois) > 1 else ""
    return {**result, "names": names, "listing": listing}


def described(route: dict[str, Any]) -> dict[str, Any]:
    """Add a spoken `summary` (first instruction, length, time) and a short one for the HUD to a route."""
    mode = str(route.get("mode") or "walking")
    minutes = max(1, round(float(route.get("duration_s") or 0) / 60))
    length = float(route.get("distance_m") or 0)
    how = "walk" if mode == "walking" else "drive"
    first = route["steps"][0]["instruction"] if route.get("steps") else ""
    summary = f"{first}. {spoken_distance(length)}, about {minutes} minutes' {how}."
    return {**route, "summary": summary, "summary_short": f"{hud_distance(length)} · {minutes} min"}


def _street_score(address: str, street: dict[str, Any]) -> float:
    """How well an address names a street: by its English or Chinese name, or the Chinese name by sound."""
    score = max(fuzz.WRatio(address, street[key], processor=utils.default_process) for key in ("en", "zh"))
    if score < SOUND_SCORE and _CJK.search(address) and sounds_in(address, str(street["zh"])):
        return SOUND_SCORE
    return score


def _near(args: dict[str, Any]) -> tuple[float, float] | None:
    near = args.get("near")
    return point_of(near, "near") if isinstance(near, (dict, str)) and near else None


class OfflineNavigation:
    """navigation.* on the bundled map."""

    def __init__(self, offline_map: Any = None) -> None:
        self._map = offline_map

    @property
    def map(self) -> Any:
        """The map, loaded on first use (networkx and the graph cost ~0.2 s; most sessions never navigate)."""
        if self._map is None:
            from skills.navigation.offline_map import OfflineMap

            self._map = OfflineMap.load()
        return self._map

    async def search_poi(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        text = str(args.get("keywords") or "")
        if not clean_query(text):
            raise SkillError("BAD_REQUEST", "say the name of a place")
        pois = search(self.map.pois, text, _near(args), int(args.get("limit") or 5))
        return offered({"pois": pois, "query": clean_query(text), "source": "offline"})

    async def geocode(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        address = clean_query(str(args.get("address") or ""))
        if not address:
            raise SkillError("BAD_REQUEST", "say an address to look up")
        places = search(self.map.pois, address, None, 1)
        street_score, index = max((_street_score(address, street), i) for i, street in enumerate(self.map.streets))
        best_street = index, self.map.streets[index]
        if places and places[0]["score"] >= street_score:
            place = places[0]
            return {"location": {"lat": place["lat"], "lng": place["lng"]}, "formatted": place["name"], "level": "poi"}
        if street_score >= 80:
            lat, lng = self.map.street_location(best_street[0])
            return {"location": {"lat": lat, "lng": lng}, "formatted": best_street[1]["en"], "level": "street"}
        raise SkillError("NOT_FOUND", f"'{address}' is not on the offline map ({self.map.name})")

    async def route(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        if not args.get("origin"):
            raise SkillError("NO_FIX", "no position fix yet to route from")
        origin = point_of(args["origin"], "origin")
        target = args.get("destination")
        destination = point_of(target, "destination")
        name = str(target.get("name") or "") if isinstance(target, dict) else ""
        return described(self.map.route(origin, destination, str(args.get("mode") or "walking"), name))


async def progress(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """navigation.progress: where the wearer is along the route at this fix."""
    route = args.get("route")
    if not isinstance(route, dict) or not route.get("polyline") or not route.get("steps"):
        raise SkillError("BAD_REQUEST", "progress needs the route a navigation.route call returned")
    try:
        fix = float(args["lat"]), float(args["lng"])
    except (KeyError, TypeError, ValueError):
        raise SkillError("BAD_REQUEST", "progress needs the fix's lat and lng") from None
    accuracy = args.get("accuracy")
    previous = args.get("previous") if isinstance(args.get("previous"), dict) else None
    return track(route, fix, previous, float(accuracy) if isinstance(accuracy, (int, float)) else None)


async def choose_place(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """navigation.choose: which of the offered places the wearer means ("the second one", "第二个", a name)."""
    options = [str(o.get("name") if isinstance(o, dict) else o) for o in (args.get("options") or [])]
    index = choose(str(args.get("text") or ""), options)
    if index is None:
        raise SkillError("NO_MATCH", f"'{args.get('text')}' does not name one of the places offered")
    return {"index": index, "name": options[index]}


def embedded_skills() -> dict[str, Skill]:
    """navigation.* with no network: the bundled map."""
    offline = OfflineNavigation()
    return {
        "navigation.search_poi": offline.search_poi,
        "navigation.geocode": offline.geocode,
        "navigation.route": offline.route,
        "navigation.progress": progress,
        "navigation.choose": choose_place,
    }


def online_skills() -> dict[str, Skill]:
    """navigation.* on AMap when a key is set (LENSFLOW_AMAP_KEY); empty otherwise, so the offline map stays."""
    from skills.navigation.amap import AmapNavigation, AmapSettings

    settings = AmapSettings.from_env()
    if not settings.configured:
        return {}
    amap = AmapNavigation(settings)

    async def search_poi(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return offered(await amap.search_poi(args, ctx))

    async def route(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return described(await amap.route(args, ctx))

    return {"navigation.search_poi": search_poi, "navigation.geocode": amap.geocode, "navigation.route": route}
