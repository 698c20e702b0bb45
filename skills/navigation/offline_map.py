"""The bundled offline map: a small street graph routed with networkx, and turn-by-turn steps from bearings.

The graph (`skills/navigation/data/hangzhou_hubin.json`, built by `skills.navigation.map_build`) is a
few hundred nodes of real streets; every edge carries its street and length.
A route snaps the origin and the destination onto their nearest street (not the
nearest node, which can be a block away), takes the shortest path by length, and
turns it into the same route document the online provider returns:

    {"source", "mode", "distance_m", "duration_s", "origin", "destination",
     "polyline": [[lat, lng], ...], "steps": [{"instruction", "action", "street", "at_m", "distance_m", "lat", "lng"}]}

`at_m` is where along the polyline a step's manoeuvre happens; progress tracking
reads only this document, so it does not care which provider made it.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import networkx as nx

from skills.base import SkillError
from skills.navigation.geo import (
    SPEED_M_S,
    VERBS,
    Point,
    bearing,
    close_steps,
    compass,
    distance_m,
    project_on_segment,
    turn_action,
)

__all__ = ["DEFAULT_MAP", "MAX_SNAP_M", "OfflineMap", "Snap"]

DEFAULT_MAP = Path(__file__).parent / "data" / "hangzhou_hubin.json"
MAX_SNAP_M = 500.0  # farther from every street than this is outside the map


@dataclass(frozen=True)
class Snap:
    """A point's nearest place on a street: edge (u, v), the point on it, and how far away it was."""

    u: int
    v: int
    point: Point
    offset_m: float


class OfflineMap:
    """The bundled street graph. Load it once with `OfflineMap.load()`."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.name = str(document.get("name", "map"))
        self.streets: list[dict[str, Any]] = list(document["streets"])
        self.nodes: list[Point] = [(float(a), float(b)) for a, b in document["nodes"]]
        self.pois: list[dict[str, Any]] = list(document.get("pois") or [])
        self.graph = nx.Graph()
        for index, point in enumerate(self.nodes):
            self.graph.add_node(index, pos=point)
        for u, v, street, length in document["edges"]:
            walk_only = bool(self.streets[street].get("walk_only"))
            self.graph.add_edge(u, v, length=float(length), street=int(street), walk_only=walk_only)

    @staticmethod
    @lru_cache(maxsize=4)
    def load(path: Path = DEFAULT_MAP) -> OfflineMap:
        return OfflineMap(json.loads(path.read_text(encoding="utf-8")))

    def street_name(self, index: int | None) -> str:
        return "" if index is None else str(self.streets[index]["en"])

    def snap(self, p: Point, mode: str = "walking") -> Snap:
        """The nearest point on any street the mode may use."""
        best: Snap | None = None
        for u, v, data in self.graph.edges(data=True):
            if mode == "driving" and data["walk_only"]:
                continue
            q, offset, _ = project_on_segment(p, self.nodes[u], self.nodes[v])
            if best is None or offset < best.offset_m:
                best = Snap(u, v, q, offset)
        if best is None or best.offset_m > MAX_SNAP_M:
            raise SkillError("OUT_OF_AREA", f"that place is outside the offline map ({self.name})")
        return best

    def _graph_for(self, mode: str) -> nx.Graph:
        if mode == "driving":
            return nx.Graph(nx.subgraph_view(self.graph, filter_edge=lambda u, v: not self.graph[u][v]["walk_only"]))
        return self.graph.copy()

    def route(self, origin: Point, destination: Point, mode: str = "walking", name: str = "") -> dict[str, Any]:
        """The shortest route by length between two points, with its turn-by-turn steps."""
        if mode not in SPEED_M_S:
            raise SkillError("BAD_REQUEST", f"mode must be walking or driving, not {mode!r}")
        start, end = self.snap(origin, mode), self.snap(destination, mode)
        graph = self._graph_for(mode)
        for key, snap in (("origin", start), ("destination", end)):
            street = self.graph[snap.u][snap.v]["street"]
            graph.add_node(key, pos=snap.point)
            for n in (snap.u, snap.v):
                graph.add_edge(key, n, length=distance_m(snap.point, self.nodes[n]), street=street)
        if {start.u, start.v} == {end.u, end.v}:  # both on one block: straight along it
            street = self.graph[start.u][start.v]["street"]
            graph.add_edge("origin", "destination", length=distance_m(start.point, end.point), street=street)
        try:
            path = nx.shortest_path(graph, "origin", "destination", weight="length")
        except nx.NetworkXNoPath:
            raise SkillError("NO_ROUTE", f"no {mode} route between those places on the offline map") from None
        points = [graph.nodes[n]["pos"] for n in path]
        streets: list[int | None] = [graph[a][b]["street"] for a, b in itertools.pairwise(path)]
        if start.offset_m > 1.0:  # from where the wearer stands to the street
            points.insert(0, origin)
            streets.insert(0, None)
        if end.offset_m > 1.0:
            points.append(destination)
            streets.append(None)
        return self._document(points, streets, mode, origin, destination, name)

    def _document(
        self,
        points: list[Point],
        streets: list[int | None],
        mode: str,
        origin: Point,
        destination: Point,
        name: str,
    ) -> dict[str, Any]:
        along = [0.0]
        for a, b in itertools.pairwise(points):
            along.append(along[-1] + distance_m(a, b))
        total = along[-1]
        steps: list[dict[str, Any]] = []
        previous: int | None = None
        for index, street in enumerate(streets):
            if street is None or street == previous:
                continue
            out_bearing = bearing(points[index], points[index + 1])
            if previous is None:
                name_ = self.street_name(street)
                action, text = "straight", f"Head {compass(out_bearing)} on {name_}"
            else:
                in_bearing = bearing(points[index - 1], points[index])
                action = turn_action(in_bearing, out_bearing)
                text = f"{VERBS[action]} {self.street_name(street)}"
            steps.append(
                {
                    "instruction": text,
                    "action": action,
                    "street": self.street_name(street),
                    "at_m": round(along[index], 1),
                    "lat": points[index][0],
                    "lng": points[index][1],
                }
            )
            previous = street
        close_steps(steps, name, total, points[-1])
        return {
            "source": "offline",
            "mode": mode,
            "distance_m": round(total, 1),
            "duration_s": round(total / SPEED_M_S[mode]),
            "origin": {"lat": origin[0], "lng": origin[1]},
            "destination": {"lat": destination[0], "lng": destination[1], "name": name},
            "polyline": [[round(p[0], 6), round(p[1], 6)] for p in points],
            "steps": steps,
        }

    def street_location(self, index: int) -> Point:
        """A point in the middle of a street (for geocoding a street name)."""
        nodes = sorted({n for u, v, d in self.graph.edges(data=True) if d["street"] == index for n in (u, v)})
        lat = sum(self.nodes[n][0] for n in nodes) / len(nodes)
        lng = sum(self.nodes[n][1] for n in nodes) / len(nodes)
        return min((self.nodes[n] for n in nodes), key=lambda p: distance_m(p, (lat, lng)))
