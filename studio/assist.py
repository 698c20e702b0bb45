"""The editor's help over HTTP: completion, hover, and a new flow, for the page and any other editor.

`POST /api/flows/{id}/complete` and `/hover` take the unsaved text and a caret (line and column from 1,
counted in characters) and answer from the flow schema, the catalogue and the text itself
(studio/completion.py). `POST /api/flows` writes a new flow and its test as `lensflow new` does, into
the first served folder. Every field is checked: a caret outside the text, a number that is not one,
an id that is not a flow id is a 400 with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.designer.scaffold import FlowExists, NotAFlowId, check_flow_id, write_new_flow
from engine.language.catalog import Catalog, load_catalog
from engine.language.yaml_reader import MAX_BYTES
from studio.api import ApiError, Studio, json_body, studio_of
from studio.completion import complete, hover

__all__ = ["assist_routes", "caret_of"]


def _catalog(studio: Studio) -> Catalog:
    return studio.catalog or load_catalog()


def caret_of(body: dict[str, Any]) -> tuple[str, int, int]:
    """The body's text, line and column, or ApiError(400) saying which one is wrong."""
    text = body["text"]
    if len(text) > MAX_BYTES:  # what a flow file may hold: the reader refuses more
        raise ApiError(400, f"`text` is over {MAX_BYTES} characters, more than a flow may hold")
    lines = text.split("\n")
    where: list[int] = []
    for name, limit in (("line", len(lines)), ("column", None)):
        value = body.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ApiError(400, f"the body needs `{name}` as a whole number (from 1)")
        if limit is None:
            limit = len(lines[where[0] - 1]) + 1
        if not 1 <= value <= limit:
            raise ApiError(400, f"`{name}` {value} is outside the text (1 to {limit})")
        where.append(value)
    return text, where[0], where[1]


async def complete_at(request: Request) -> Response:
    studio = studio_of(request)
    studio.flow(request.path_params["id"])
    text, line, column = caret_of(await json_body(request, text=str))
    with studio.lock:
        ids = sorted(studio.flows.files)
    answer = await run_in_threadpool(complete, text, line, column, _catalog(studio), ids)
    return JSONResponse(answer)


async def hover_at(request: Request) -> Response:
    studio = studio_of(request)
    studio.flow(request.path_params["id"])
    text, line, column = caret_of(await json_body(request, text=str))
    answer = await run_in_threadpool(hover, text, line, column, _catalog(studio))
    return JSONResponse(answer)


def new_flow_folder(studio: Studio) -> Path:
    """Where a new flow goes: the first served folder, else the folder of the first served file."""
    for given in studio.flows.paths:
        if Path(given).is_dir():
            return Path(given).resolve()
    if studio.flows.paths:
        return Path(studio.flows.paths[0]).resolve().parent
    raise ApiError(409, "this studio serves no folder to put a new flow in")


async def create_flow(request: Request) -> Response:
    studio = studio_of(request)
    body = await json_body(request)
    try:
        flow_id = check_flow_id(body.get("id"))
    except NotAFlowId as exc:
        raise ApiError(400, exc.message) from None

    def create() -> list[dict[str, str]]:
        with studio.lock:
            if studio.flows.get(flow_id) is not None:
                raise ApiError(409, f"a flow '{flow_id}' is already served ({studio.flows.files[flow_id].shown_path})")
            try:
                write_new_flow(flow_id, new_flow_folder(studio))
            except FlowExists as exc:
                raise ApiError(409, exc.message) from None
            except OSError as exc:
                raise ApiError(500, f"cannot write the new flow ({exc.strerror or exc})") from None
            return [change.as_dict() for change in studio.flows.poll()]

    for message in await run_in_threadpool(create):
        request.app.state.hub.publish(message)
    flow = studio.flow(flow_id)
    return JSONResponse({"id": flow.id, "file": flow.shown_path, "version": flow.version}, 201)


def assist_routes() -> list[Any]:
    """The routes of the editor's help, for `studio.api.api_routes`."""
    from starlette.routing import Route

    return [
        Route("/api/flows", create_flow, methods=["POST"]),
        Route("/api/flows/{id}/complete", complete_at, methods=["POST"]),
        Route("/api/flows/{id}/hover", hover_at, methods=["POST"]),
    ]
