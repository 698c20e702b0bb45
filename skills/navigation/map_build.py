"""Build the bundled offline map graph from its street source file.

The source (`skills/navigation/data/*.streets.yaml`) lists streets as polylines and named
places; designers edit that. This turns it into the routable graph the glasses
load (`*.json` beside it): a node wherever two streets cross or one ends on
another, more nodes along long blocks so no edge is longer than `MAX_EDGE_M`
(projection and snapping stay local), and every edge tagged with its street.
Building is done once, ahead of time, so loading on the glasses is a JSON read.

    python -m skills.navigation.map_build skills/navigation/data/hangzhou_hubin.streets.yaml
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

import yaml

from skills.navigation.geo import Point, distance_m, from_local, project_on_segment, to_local

__all__ = ["MAX_EDGE_M", "MERGE_M", "SNAP_M", "build", "main"]

MAX_EDGE_M = 100.0
MERGE_M = 3.0  # points closer than this are one junction
SNAP_M = 8.0  # a street ending this close to another joins it


def _crossing(a: Point, b: Point, c: Point, d: Point) -> Point | None:
    """Where segments a-b and c-d cross (ends included), in the frame of a."""
    bx, by = to_local(a, b)
    cx, cy = to_local(a, c)
    dx, dy = to_local(a, d)
    ex, ey = dx - cx, dy - cy
    denom = bx * ey - by * ex
    if abs(denom) < 1e-9:
        return None
    t = (cx * ey - cy * ex) / denom
    u = (cx * by - cy * bx) / denom
    eps = 1e-6
    if -eps <= t <= 1 + eps and -eps <= u <= 1 + eps:
        return from_local(a, t * bx, t * by)
    return None


def _cuts(streets: list[list[Point]]) -> list[list[Point]]:
    """Every point where each street meets another, in order along it (its own ends included)."""
    cuts: list[list[tuple[float, Point]]] = []
    for points in streets:
        cuts.append([(0.0, points[0])])
    along_of = []
    for points in streets:
        acc, out = 0.0, [0.0]
        for a, b in itertools.pairwise(points):
            acc += distance_m(a, b)
            out.append(acc)
        along_of.append(out)
    for i, first in enumerate(streets):
        for j, second in enumerate(streets):
            if i == j:
                continue
            for si, (a, b) in enumerate(itertools.pairwise(first)):
                for c, d in itertools.pairwise(second):
                    hit = _crossing(a, b, c, d)
                    if hit is not None:
                        cuts[i].append((along_of[i][si] + distance_m(a, hit), hit))
            for end in (second[0], second[-1]):  # T-junctions: the other street ends on this one
                for si, (a, b) in enumerate(itertools.pairwise(first)):
                    q, offset, _ = project_on_segment(end, a, b)
                    if offset <= SNAP_M:
                        cuts[i].append((along_of[i][si] + distance_m(a, q), q))
    for i, points in enumerate(streets):
        for k, p in enumerate(points):
            cuts[i].append((along_of[i][k], p))
    return [[p for _, p in sorted(c, key=lambda x: x[0])] for c in cuts]


def build(source: dict[str, Any]) -> dict[str, Any]:
    """The graph document (nodes, edges, streets, pois) for a parsed street source."""
    polylines = [[(float(p[0]), float(p[1])) for p in street["points"]] for street in source["streets"]]
    nodes: list[Point] = []

    def node_at(p: Point) -> int:
        for index, q in enumerate(nodes):
            if distance_m(p, q) <= MERGE_M:
                return index
        nodes.append((round(p[0], 6), round(p[1], 6)))
        return len(nodes) - 1

    edges: list[tuple[int, int, int, float]] = []
    seen: set[tuple[int, int]] = set()
    for street_index, points in enumerate(_cuts(polylines)):
        ids: list[int] = []
        for p in points:
            n = node_at(p)
            if not ids or ids[-1] != n:
                ids.append(n)
        for u, v in itertools.pairwise(ids):
            a, b = nodes[u], nodes[v]
            pieces = max(1, math.ceil(distance_m(a, b) / MAX_EDGE_M))
            chain = [u]
            for k in range(1, pieces):
                t = k / pieces
                chain.append(node_at((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))))
            chain.append(v)
            for x, y in itertools.pairwise(chain):
                key = (min(x, y), max(x, y))
                if x != y and key not in seen:
                    seen.add(key)
                    edges.append((x, y, street_index, round(distance_m(nodes[x], nodes[y]), 1)))
    streets = [
        {"en": s["en"], "zh": s["zh"], **({"walk_only": True} if s.get("walk_only") else {})} for s in source["streets"]
    ]
    return {
        "name": source["name"],
        "crs": source.get("crs", "GCJ-02"),
        "streets": streets,
        "nodes": [list(p) for p in nodes],
        "edges": [list(e) for e in edges],
        "pois": source.get("pois") or [],
    }


def main(argv: list[str]) -> int:
    src = Path(argv[0]) if argv else Path(__file__).parent / "data" / "hangzhou_hubin.streets.yaml"
    document = build(yaml.safe_load(src.read_text(encoding="utf-8")))
    out = src.with_name(src.name.replace(".streets.yaml", ".json"))
    out.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{out}: {len(document['nodes'])} nodes, {len(document['edges'])} edges, {len(document['pois'])} places")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
