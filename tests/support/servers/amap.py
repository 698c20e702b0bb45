"""A local stand-in for the AMap web service on 127.0.0.1, answering its real JSON shapes.

Endpoints: `/v3/geocode/geo`, `/v5/place/text`, `/v5/direction/walking`,
`/v5/direction/driving`. Answers follow AMap's documented shapes: strings for
numbers, "lng,lat" coordinates, `status` "1" with `info` "OK" and `infocode`
"10000", or `status` "0" with the error's `info` and `infocode`.

Script what comes next with `fail(infocode)` (one error answer), `slow(seconds)`
(an answer that arrives late) or `queue(...)`; every request is recorded with its
query parameters, so tests can check the key was sent and count retries.

    with AmapServer() as amap:
        amap.fail("10021")                    # the next call hits the per-second limit
        settings = AmapSettings(key="k", url=amap.url)
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

ERRORS = {
    "10001": "INVALID_USER_KEY",
    "10003": "DAILY_QUERY_OVER_LIMIT",
    "10021": "CUQPS_HAS_EXCEEDED_THE_LIMIT",
    "20000": "INVALID_PARAMS",
    "20800": "OUT_OF_SERVICE",
    "20803": "OVER_DIRECTION_RANGE",
}
KEY = "test-amap-key"

POIS = [
    {
        "id": "B023B0B8HY",
        "name": "杭州站",
        "type": "交通设施服务;火车站;火车站",
        "typecode": "150200",
        "address": "环城东路1号",
        "location": "120.182800,30.243600",
        "pname": "浙江省",
        "cityname": "杭州市",
        "adname": "上城区",
        "pcode": "330000",
        "citycode": "0571",
        "adcode": "330102",
    },
    {
        "id": "B0FFFAB6J2",
        "name": "城站(地铁站)",
        "type": "交通设施服务;地铁站;地铁站",
        "typecode": "150500",
        "address": "1号线;5号线",
        "location": "120.185000,30.245200",
        "pname": "浙江省",
        "cityname": "杭州市",
        "adname": "上城区",
        "pcode": "330000",
        "citycode": "0571",
        "adcode": "330102",
    },
]


def _ok(**body: Any) -> dict[str, Any]:
    return {"status": "1", "info": "OK", "infocode": "10000", **body}


def _lnglat(text: str) -> tuple[float, float]:
    lng, lat = (float(x) for x in text.split(","))
    return lng, lat


def _direction(query: dict[str, str], driving: bool) -> dict[str, Any]:
    """An L-shaped route: south (or north) along 延安路, then east (or west) along 解放路 to the destination."""
    (lng1, lat1), (lng2, lat2) = _lnglat(query["origin"]), _lnglat(query["destination"])
    corner = f"{lng1:.6f},{lat2:.6f}"
    first = round(abs(lat2 - lat1) * 111_195)
    second = round(abs(lng2 - lng1) * 111_195 * 0.8638)  # cos(30.25°)
    north_south = "南" if lat2 < lat1 else "北"
    east_west = "东" if lng2 > lng1 else "西"
    turn = "左转" if (north_south == "南") == (east_west == "东") else "右转"
    verb = "行驶" if driving else "步行"
    steps: list[dict[str, Any]] = [
        {
            "instruction": f"向{north_south}{verb}{first}米{turn}",
            "orientation": north_south,
            "road_name": "延安路",
            "step_distance": str(first),
            "cost": {"duration": str(round(first / (8 if driving else 1.3)))},
            "navi": {"action": turn, "assistant_action": "", **({} if driving else {"walk_type": "0"})},
            "polyline": f"{query['origin']};{lng1:.6f},{(lat1 + lat2) / 2:.6f};{corner}",
        },
        {
            "instruction": f"向{east_west}{verb}{second}米到达目的地",
            "orientation": east_west,
            "road_name": "解放路",
            "step_distance": str(second),
            "cost": {"duration": str(round(second / (8 if driving else 1.3)))},
            "navi": {"action": "", "assistant_action": "到达目的地", **({} if driving else {"walk_type": "0"})},
            "polyline": f"{corner};{query['destination']}",
        },
    ]
    path: dict[str, Any] = {
        "distance": str(first + second),
        "cost": {"duration": str(sum(int(s["cost"]["duration"]) for s in steps))},
        "steps": steps,
    }
    if driving:
        path["restriction"] = "0"
        path["cost"].update({"tolls": "0", "toll_distance": "0", "traffic_lights": "3"})
    route: dict[str, Any] = {"origin": query["origin"], "destination": query["destination"], "paths": [path]}
    if driving:
        route["taxi_cost"] = "14"
    return _ok(count="1", route=route)


def answer(path: str, query: dict[str, str]) -> dict[str, Any]:
    """AMap's success answer for one request."""
    if path == "/v3/geocode/geo":
        return _ok(
            count="1",
            geocodes=[
                {
                    "formatted_address": "浙江省杭州市上城区环城东路1号",
                    "country": "中国",
                    "province": "浙江省",
                    "citycode": "0571",
                    "city": "杭州市",
                    "district": "上城区",
                    "adcode": "330102",
                    "street": "环城东路",
                    "number": "1号",
                    "location": "120.182800,30.243600",
                    "level": "门牌号",
                }
            ],
        )
    if path == "/v5/place/text":
        size = int(query.get("page_size") or 10)
        found = [p for p in POIS if any(w in p["name"] for w in ("杭州站", "城站"))] if query.get("keywords") else []
        return _ok(count=str(len(found[:size])), pois=found[:size])
    if path in ("/v5/direction/walking", "/v5/direction/driving"):
        if not query.get("origin") or not query.get("destination"):
            return {"status": "0", "info": "MISSING_REQUIRED_PARAMS", "infocode": "20001"}
        return _direction(query, driving=path.endswith("driving"))
    return {"status": "0", "info": "INVALID_PARAMS", "infocode": "20000"}


class AmapServer:
    """The scripted server; use as a context manager. `url` is what LENSFLOW_AMAP_URL should be."""

    def __init__(self, key: str = KEY) -> None:
        self.key = key
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._script: deque[tuple[str, Any]] = deque()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def fail(self, infocode: str, times: int = 1) -> None:
        for _ in range(times):
            self.queue("error", infocode)

    def slow(self, seconds: float) -> None:
        self.queue("slow", seconds)

    def queue(self, kind: str, value: Any = None) -> None:
        with self._lock:
            self._script.append((kind, value))

    def calls(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def __enter__(self) -> AmapServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self) -> tuple[str, Any] | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet in test output
                pass

            def do_GET(self) -> None:
                parsed = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
                server.requests.append((parsed.path, query))
                step = server._next()
                if query.get("key") != server.key:
                    body: dict[str, Any] = {"status": "0", "info": ERRORS["10001"], "infocode": "10001"}
                elif step and step[0] == "error":
                    body = {"status": "0", "info": ERRORS.get(step[1], "UNKNOWN_ERROR"), "infocode": step[1]}
                else:
                    if step and step[0] == "slow":
                        time.sleep(float(step[1]))
                    body = answer(parsed.path, query)
                data = json.dumps(body, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json;charset=UTF-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting
                    pass

        return Handler
