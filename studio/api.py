"""The studio's HTTP API: JSON in and out, flows named by id, the real validator and diagram writer behind it.

Every body is untrusted: at most `MAX_BODY_BYTES`, a JSON object with the fields asked for, else a 400
with one line. An id that is not served is a 404; no request ever names a path.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.checks.config import Config
from engine.checks.validate import UsageError, validate_paths, validate_text
from engine.designer.diagram import DiagramError, dot_id, is_cluster, render, to_dot
from engine.findings import Finding, Severity
from engine.language.catalog import Catalog
from engine.language.loader import load_flow
from engine.language.model import Flow
from studio.flows import FlowFile, FlowSet, SaveConflict, version_of

__all__ = ["MAX_BODY_BYTES", "ApiError", "Studio", "api_routes", "finding_json", "json_body", "studio_of"]

MAX_BODY_BYTES = 1_000_000


class ApiError(Exception):
    """A request the API refuses: an HTTP status and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Studio:
    """What the API works on: the served flows, the validator's settings, and one lock for the files."""

    flows: FlowSet
    config: Config = field(default_factory=Config)
    catalog: Catalog | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _summary: tuple[tuple[tuple[str, str], ...], dict[Path, list[Finding]]] | None = None

    def flow(self, flow_id: str) -> FlowFile:
        with self.lock:
            found = self.flows.get(flow_id)
        if found is None:
            raise ApiError(404, f"no flow '{flow_id}' is served here")
        return found

    def findings_by_file(self) -> dict[Path, list[Finding]]:
        """Every served file's findings, computed again only when some file's version changed."""
        with self.lock:
            key = tuple(sorted((f.id, f.version) for f in self.flows.files.values()))
            if self._summary is not None and self._summary[0] == key:
                return self._summary[1]
            try:
                result = validate_paths(self.flows.paths, self.config, self.catalog)
            except UsageError:
                result = None
            grouped: dict[Path, list[Finding]] = {}
            for finding in result.findings if result else []:
                grouped.setdefault(Path(finding.file).resolve(), []).append(finding)
            self._summary = (key, grouped)
            return grouped

    def check(self, flow: FlowFile, text: str) -> list[dict[str, Any]]:
        """The validator's findings for unsaved `text` of `flow` (its folder is its project)."""
        try:
            result = validate_text(flow.path, text, self.config, self.catalog)
        except UsageError as exc:
            raise ApiError(404, str(exc)) from None
        return [finding_json(f) for f in result.findings if Path(f.file).resolve() == flow.path]


def finding_json(finding: Finding) -> dict[str, Any]:
    """A finding as the page and other editors read it (line and column from 1; its span and fix when
    known): `validate --format json`'s fields less the file, flow and state the request already names."""
    return {k: v for k, v in finding.as_dict().items() if k not in ("file", "flow", "state")}


def studio_of(request: Request) -> Studio:
    """The studio a request's app serves (studio/server.py puts it there)."""
    studio: Studio = request.app.state.studio
    return studio


async def list_flows(request: Request) -> Response:
    studio = studio_of(request)
    grouped = await run_in_threadpool(studio.findings_by_file)
    with studio.lock:
        served = sorted(studio.flows.files.values(), key=lambda f: f.id)
    out = []
    for flow in served:
        findings = grouped.get(flow.path, [])
        out.append(
            {
                "id": flow.id,
                "file": flow.shown_path,
                "title": flow.title,
                "errors": sum(1 for f in findings if f.severity is Severity.ERROR),
                "warnings": sum(1 for f in findings if f.severity is Severity.WARNING),
            }
        )
    return JSONResponse(out)


async def get_flow(request: Request) -> Response:
    studio = studio_of(request)
    flow = studio.flow(request.path_params["id"])
    data = await run_in_threadpool(_read, studio, flow)
    return JSONResponse(
        {"id": flow.id, "file": flow.shown_path, "text": data.decode("utf-8", "replace"), "version": version_of(data)}
    )


async def check_flow(request: Request) -> Response:
    studio = studio_of(request)
    flow = studio.flow(request.path_params["id"])
    body = await json_body(request, text=str)
    findings = await run_in_threadpool(studio.check, flow, body["text"])
    return JSONResponse({"findings": findings})


async def save_flow(request: Request) -> Response:
    studio = studio_of(request)
    flow = studio.flow(request.path_params["id"])
    body = await json_body(request, text=str, version=str)

    def save() -> str:
        with studio.lock:
            return studio.flows.save(flow, body["text"], body["version"])

    try:
        version = await run_in_threadpool(save)
    except SaveConflict as exc:
        raise ApiError(409, exc.message) from None
    except OSError as exc:
        raise ApiError(500, f"{flow.shown_path}: cannot write ({exc.strerror or exc})") from None
    # other pages open on this flow learn of it now (the poller sees the file as already known)
    request.app.state.hub.publish({"type": "changed", "id": flow.id, "version": version})
    findings = await run_in_threadpool(studio.check, flow, body["text"])
    return JSONResponse({"version": version, "findings": findings})


async def saved_diagram(request: Request) -> Response:
    studio = studio_of(request)
    flow = studio.flow(request.path_params["id"])
    data = await run_in_threadpool(_read, studio, flow)
    return await _diagram(flow, data, active_states(request), clickable(request), uncovered_marks(request))


async def unsaved_diagram(request: Request) -> Response:
    flow = studio_of(request).flow(request.path_params["id"])
    body = await json_body(request, text=str)
    return await _diagram(
        flow, body["text"].encode("utf-8"), active_states(request), clickable(request), uncovered_marks(request)
    )


def active_states(request: Request) -> list[str]:
    """`?active=a,b`: the states to draw highlighted (the simulation's active configuration)."""
    raw = request.query_params.get("active", "")
    if len(raw) > 10_000:
        raise ApiError(400, "`active` is over 10000 characters")
    return [name for name in raw.split(",") if name]


def clickable(request: Request) -> bool:
    """`?clickable=1`: edges carry the classes the page's clicks read (`engine.designer.diagram_dot.click_classes`)."""
    return request.query_params.get("clickable", "") in ("1", "true")


def live_states(flow: Flow, active: list[str]) -> set[str]:
    """The active states and their ancestors: the sources of the transitions that can fire now."""
    return {a for name in active if name in flow.states for a in (name, *flow.ancestors(name))}


def uncovered_marks(request: Request) -> tuple[list[str], list[str]]:
    """`?uncovered=STATE:INDEX,...` and `?uncovered_states=a,b`: what tests or exploration never took."""
    marks = []
    for name in ("uncovered", "uncovered_states"):
        raw = request.query_params.get(name, "")
        if len(raw) > 10_000:
            raise ApiError(400, f"`{name}` is over 10000 characters")
        marks.append([item for item in raw.split(",") if item])
    return marks[0], marks[1]


def highlighted(dot: str, flow: Flow, active: list[str]) -> str:
    """`dot` with the active atomic states filled and bold; names that are not atomic states are ignored
    (a compound state is a cluster: its active children say where the flow is)."""
    marks = [
        f'    {dot_id(name)} [style="rounded,filled,bold", fillcolor="#fff176", penwidth=2.5, class="active"];'
        for name in dict.fromkeys(active)
        if name in flow.states and not is_cluster(flow, name)
    ]
    if not marks:
        return dot
    head, _, _ = dot.rstrip().rpartition("}")
    return head + "\n".join(marks) + "\n}\n"


async def _diagram(
    flow: FlowFile,
    data: bytes,
    active: list[str] | None = None,
    click: bool = False,
    marks: tuple[list[str], list[str]] = ([], []),
) -> Response:
    """The statechart as SVG through Graphviz, as `graph --format svg` draws it; 422 with the findings when
    the text is not a flow that can be drawn. `marks`: transitions and states drawn dashed red (uncovered)."""
    uncovered, uncovered_states = marks
    loaded = await run_in_threadpool(load_flow, flow.path, data)
    if loaded.built is None:
        return JSONResponse(
            {"error": "the flow cannot be drawn", "findings": [finding_json(f) for f in loaded.sink.findings]}, 422
        )
    try:
        built = loaded.built.flow
        lit = active or []
        dot = highlighted(to_dot(built, click, live_states(built, lit), uncovered, uncovered_states), built, lit)
        svg = await run_in_threadpool(render, dot, "svg")
    except DiagramError as exc:
        raise ApiError(500, str(exc)) from None
    return Response(svg, media_type="image/svg+xml")


def _read(studio: Studio, flow: FlowFile) -> bytes:
    try:
        with studio.lock:
            return studio.flows.read(flow)
    except OSError as exc:
        raise ApiError(404, f"{flow.shown_path}: cannot read ({exc.strerror or exc})") from None


async def json_body(request: Request, **fields: type) -> dict[str, Any]:
    """The request's JSON object, at most MAX_BODY_BYTES, with each named field of the named type."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"the body is over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    for name, kind in fields.items():
        if not isinstance(body.get(name), kind):
            raise ApiError(400, f"the body needs `{name}` as a {'string' if kind is str else kind.__name__}")
    return body


async def list_profiles(request: Request) -> Response:
    """The device profiles a simulation can run on, with their HUD geometry (None: audio only)."""
    from engine.language.catalog import load_catalog

    out = []
    for profile in sorted(load_catalog().profiles.values(), key=lambda p: p.id):
        hud = profile.hud
        out.append(
            {
                "id": profile.id,
                "title": profile.title,
                "capabilities": sorted(profile.capabilities),
                "hud": {"rows": hud.lines, "cols": hud.columns, "cjk_cols": hud.cjk_columns} if hud else None,
            }
        )
    return JSONResponse(out)


def api_routes() -> list[Any]:
    """The API's routes, for `studio.server.build_app`."""
    from starlette.routing import Route

    from studio.assist import assist_routes
    from studio.testing import testing_routes

    return [
        *assist_routes(),
        Route("/api/flows", list_flows, methods=["GET"]),
        Route("/api/profiles", list_profiles, methods=["GET"]),
        Route("/api/flows/{id}", get_flow, methods=["GET"]),
        Route("/api/flows/{id}", save_flow, methods=["PUT"]),
        Route("/api/flows/{id}/check", check_flow, methods=["POST"]),
        Route("/api/flows/{id}/diagram.svg", saved_diagram, methods=["GET"]),
        Route("/api/flows/{id}/diagram", unsaved_diagram, methods=["POST"]),
        *testing_routes(),
    ]
