"""Navigation online: the AMap (高德) web service — geocoding, place search, walking and driving routes.

Settings come from the environment:

    LENSFLOW_AMAP_KEY      the web service key (without it the offline map answers)
    LENSFLOW_AMAP_URL      default https://restapi.amap.com (tests point it at a local server)
    LENSFLOW_AMAP_TIMEOUT  seconds per request, default 8
    LENSFLOW_AMAP_CITY     city to search in when the flow names none (e.g. 杭州)

AMap answers HTTP 200 with `status: "1"`, or `status: "0"` with `info` and
`infocode`; those become `SkillError` codes a flow can branch on:

    10001 INVALID_USER_KEY and other key problems  -> UNAUTHORIZED
    10003 / 10044 daily quota used up              -> QUOTA_EXCEEDED
    10021 and other per-second limits              -> RATE_LIMITED (after retrying with backoff)
    20800 / 20803 outside the service area, too far -> OUT_OF_AREA
    20801 / 20802 no road near origin or destination -> NO_ROUTE
    20000 .. 20012 bad parameters                   -> BAD_REQUEST
    anything else                                  -> PROVIDER_ERROR
    transport failures, HTTP errors, an answer that is not JSON: the codes every
    provider gives for them (`skills.errors.map_exceptions`)

Coordinates travel as AMap's "lng,lat" strings (GCJ-02); results come back as the
same route document the offline map makes (see `skills.navigation.offline_map`), so progress
tracking and the flow do not care which one answered.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from skills.base import SkillError
from skills.errors import map_exceptions
from skills.navigation.geo import (
    SPEED_M_S,
    VERBS,
    Point,
    bearing,
    close_steps,
    compass,
    cumulative,
    distance_m,
    point_of,
)
from skills.navigation.places import clean_query

__all__ = [
    "AREA_ERRORS",
    "DEFAULT_URL",
    "KEY_ERRORS",
    "ORIENTATIONS",
    "QUOTA_ERRORS",
    "RATE_ERRORS",
    "ROUTE_ERRORS",
    "AmapNavigation",
    "AmapSettings",
    "amap_error",
    "lnglat",
    "route_document",
]

DEFAULT_URL = "https://restapi.amap.com"
KEY_ERRORS = {"10001", "10002", "10005", "10006", "10007", "10008", "10009", "10010", "10011", "10012", "10013"}
QUOTA_ERRORS = {"10003", "10044", "10045"}
RATE_ERRORS = {"10004", "10014", "10015", "10019", "10020", "10021", "10022", "10023"}
AREA_ERRORS = {"20800", "20803"}
ROUTE_ERRORS = {"20801", "20802"}
ORIENTATIONS = {"东": 90, "东南": 135, "南": 180, "西南": 225, "西": 270, "西北": 315, "北": 0, "东北": 45}


@dataclass(frozen=True)
class AmapSettings:
    key: str
    url: str = DEFAULT_URL
    timeout_s: float = 8.0
    city: str = ""
    retries: int = 3  # extra attempts after a per-second limit
    backoff_ms: int = 300  # doubled after each of them

    @classmethod
    def from_env(cls) -> AmapSettings:
        try:
            timeout = float(os.environ.get("LENSFLOW_AMAP_TIMEOUT") or 8.0)
        except ValueError:
            timeout = 8.0
        return cls(
            key=os.environ.get("LENSFLOW_AMAP_KEY", ""),
            url=(os.environ.get("LENSFLOW_AMAP_URL") or DEFAULT_URL).rstrip("/"),
            timeout_s=timeout,
            city=os.environ.get("LENSFLOW_AMAP_CITY", ""),
        )

    @property
    def configured(self) -> bool:
        return bool(self.key)


def amap_error(infocode: str, info: str) -> SkillError:
    """The flow-facing error for an AMap `status: "0"` answer."""
    detail = f"AMap {infocode} {info}".strip()
    if infocode in KEY_ERRORS:
        return SkillError("UNAUTHORIZED", f"the AMap key was refused ({detail}); check LENSFLOW_AMAP_KEY")
    if infocode in QUOTA_ERRORS:
        return SkillError("QUOTA_EXCEEDED", f"the AMap daily quota is used up ({detail})")
    if infocode in RATE_ERRORS:
        return SkillError("RATE_LIMITED", f"AMap is limiting requests per second ({detail})")
    if infocode in AREA_ERRORS:
        return SkillError("OUT_OF_AREA", f"AMap cannot route there ({detail})")
    if infocode in ROUTE_ERRORS:
        return SkillError("NO_ROUTE", f"no road near the start or the destination ({detail})")
    if infocode.startswith("200"):
        return SkillError("BAD_REQUEST", f"AMap refused the request ({detail})")
    return SkillError("PROVIDER_ERROR", f"AMap failed ({detail})")


def lnglat(p: Point) -> str:
    return f"{p[1]:.6f},{p[0]:.6f}"


def _parse_lnglat(text: str) -> Point:
    lng, lat = (float(x) for x in str(text).split(",")[:2])
    return lat, lng


def _action(navi: Any) -> str:
    """The HUD arrow for AMap's Chinese manoeuvre (navi.action), '' meaning straight on."""
    text = str((navi or {}).get("action") or "") if isinstance(navi, dict) else ""
    for words, action in (
        ("调头", "u_turn"),
        ("左后", "sharp_left"),
        ("右后", "sharp_right"),
        ("左前", "slight_left"),
        ("靠左", "slight_left"),
        ("右前", "slight_right"),
        ("靠右", "slight_right"),
        ("左转", "left"),
        ("右转", "right"),
    ):
        if words in text:
            return action
    return "straight"


def route_document(data: dict[str, Any], mode: str, origin: Point, destination: Point, name: str) -> dict[str, Any]:
    """AMap's v5 direction answer as the project's route document (steps with `at_m` along the polyline)."""
    paths = (data.get("route") or {}).get("paths") or []
    if not paths:
        raise SkillError("NO_ROUTE", f"AMap found no {mode} route")
    path = paths[0]
    points: list[Point] = []
    starts: list[int] = []
    for step in path.get("steps") or []:
        starts.append(max(0, len(points) - 1))
        for pair in str(step.get("polyline") or "").split(";"):
            if pair:
                p = _parse_lnglat(pair)
                if not points or points[-1] != p:
                    points.append(p)
    if len(points) < 2:
        points = [origin, destination]
        starts = [0] * len(path.get("steps") or [])
    along = cumulative(points)
    steps: list[dict[str, Any]] = []
    amap_steps = path.get("steps") or []
    for index, step in enumerate(amap_steps):
        road = str(step.get("road_name") or "")
        at = along[starts[index]]
        if index == 0:
            heading: float | None = ORIENTATIONS.get(str(step.get("orientation") or ""))
            if heading is None:
                heading = bearing(points[0], points[1])
            action, text = "straight", f"Head {compass(heading)}" + (f" on {road}" if road else "")
        else:
            action = _action(amap_steps[index - 1].get("navi"))
            if action == "straight" and (not road or road == amap_steps[index - 1].get("road_name")):
                continue  # AMap splits a straight road into pieces; the wearer hears one step
            text = f"{VERBS[action]} {road}" if road else VERBS[action].replace(" onto", "")
        steps.append(
            {
                "instruction": text,
                "instruction_zh": str(step.get("instruction") or ""),
                "action": action,
                "street": road,
                "at_m": round(at, 1),
                "lat": points[starts[index]][0],
                "lng": points[starts[index]][1],
            }
        )
    total = along[-1]
    close_steps(steps, name, total, points[-1])
    cost = path.get("cost") or {}
    duration = cost.get("duration") or path.get("duration")
    return {
        "source": "amap",
        "mode": mode,
        "distance_m": float(path.get("distance") or round(total, 1)),
        "duration_s": float(duration) if duration not in (None, "") else round(total / SPEED_M_S[mode]),
        "origin": {"lat": origin[0], "lng": origin[1]},
        "destination": {"lat": destination[0], "lng": destination[1], "name": name},
        "polyline": [[round(p[0], 6), round(p[1], 6)] for p in points],
        "steps": steps,
    }


class AmapNavigation:
    """The navigation.* skills answered by the AMap web service."""

    def __init__(self, settings: AmapSettings | None = None) -> None:
        self.settings = settings or AmapSettings.from_env()

    async def _get(self, path: str, params: dict[str, Any], ctx: Any) -> dict[str, Any]:
        """One AMap call: the key added, per-second limits retried with backoff, errors translated."""
        sleep: Callable[[int], Awaitable[None]] = getattr(ctx, "sleep", None) or (lambda ms: asyncio.sleep(ms / 1000))
        query = {**{k: v for k, v in params.items() if v not in (None, "")}, "key": self.settings.key}
        url = f"{self.settings.url}{path}"
        for attempt in range(self.settings.retries + 1):
            with map_exceptions(f"AMap at {url}"):
                async with httpx.AsyncClient(timeout=self.settings.timeout_s) as client:
                    response = await client.get(url, params=query)
                response.raise_for_status()
                data = response.json()
            if not isinstance(data, dict):
                raise SkillError("PROVIDER_ERROR", f"AMap at {url} answered with an unexpected shape")
            if str(data.get("status")) == "1":
                return data
            error = amap_error(str(data.get("infocode", "")), str(data.get("info", "")))
            if error.code != "RATE_LIMITED" or attempt == self.settings.retries:
                raise error
            await sleep(self.settings.backoff_ms * 2**attempt)
        raise AssertionError("unreachable")

    async def geocode(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        address = str(args.get("address") or "").strip()
        if not address:
            raise SkillError("BAD_REQUEST", "say an address to look up")
        data = await self._get(
            "/v3/geocode/geo", {"address": address, "city": args.get("city") or self.settings.city}, ctx
        )
        found = data.get("geocodes") or []
        if not found:
            raise SkillError("NOT_FOUND", f"AMap does not know the address '{address}'")
        lat, lng = _parse_lnglat(found[0]["location"])
        return {
            "location": {"lat": lat, "lng": lng},
            "formatted": str(found[0].get("formatted_address") or address),
            "level": str(found[0].get("level") or ""),
        }

    async def search_poi(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        query = clean_query(str(args.get("keywords") or ""))
        if not query:
            raise SkillError("BAD_REQUEST", "say the name of a place")
        limit = int(args.get("limit") or 5)
        city = args.get("city") or self.settings.city
        params = {"keywords": query, "region": city, "city_limit": "true" if city else None, "page_size": limit}
        data = await self._get("/v5/place/text", params, ctx)
        near = point_of(args["near"], "near") if isinstance(args.get("near"), (dict, str)) and args["near"] else None
        pois = []
        for poi in (data.get("pois") or [])[:limit]:
            try:
                lat, lng = _parse_lnglat(poi["location"])
            except (KeyError, ValueError):
                continue
            place = {
                "name": str(poi.get("name") or ""),
                "name_zh": str(poi.get("name") or ""),
                "category": str(poi.get("type") or ""),
                "address": str(poi.get("address") or ""),
                "lat": lat,
                "lng": lng,
                "id": str(poi.get("id") or ""),
            }
            if near:
                place["distance_m"] = round(distance_m(near, (lat, lng)))
            pois.append(place)
        return {"pois": pois, "query": query, "source": "amap"}

    async def route(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        mode = str(args.get("mode") or "walking")
        if mode not in SPEED_M_S:
            raise SkillError("BAD_REQUEST", f"mode must be walking or driving, not {mode!r}")
        if not args.get("origin"):
            raise SkillError("NO_FIX", "no position fix yet to route from")
        origin = point_of(args["origin"], "origin")
        destination = point_of(args.get("destination"), "destination")
        target = args.get("destination")
        name = str(target.get("name") or "") if isinstance(target, dict) else ""
        params = {
            "origin": lnglat(origin),
            "destination": lnglat(destination),
            "show_fields": "cost,navi,polyline",
        }
        data = await self._get(f"/v5/direction/{mode}", params, ctx)
        return route_document(data, mode, origin, destination, name)
