"""Routing an utterance as a Temporal (local) activity: the one part of an assistant turn that is not deterministic.

A session workflow asks `lensflow.understand` (`turns`) what a command means when the engine cannot
tell by itself (`engine.assistant.turn.understand`): the words, the running flow and what
it waits for go in; a plain route comes back (`Route.as_dict`: start flow X with slots,
fill slots, confirm, cancel, clarify, answer). The router is the worker's: Qwen through
the model router when the worker has a chat model (it falls back offline by itself), else
the product's offline router (trigger phrases, then meaning: `skills.understanding`), both
over the flows the worker serves (its catalogue).

The answer is recorded in the workflow's history, so a replay on another worker reads
it instead of routing again (a model could answer differently the second time).

    understanding = Understanding(llm=None)
    Worker(..., activities=[*activities.all()])  # `SessionActivities.all` includes `understanding.understand`
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from temporalio import activity

from backends.temporal import shelf
from skills.understanding import understanding_router

__all__ = ["UNDERSTAND_ACTIVITY", "UnderstandCall", "Understanding"]

UNDERSTAND_ACTIVITY = "lensflow.understand"


@dataclass
class UnderstandCall:
    """What the router needs: the words (without a wake phrase), the running flow and what it waits for."""

    text: str
    active: str | None
    waiting: str | None  # `confirm`, `collect:SLOT`, or None
    session_id: str
    wearer: str


class Understanding:
    """The worker's router over the flows it serves, made again only when those flows change."""

    def __init__(self, llm: Any = None) -> None:
        self.llm = llm if callable(getattr(llm, "chat", None)) else None  # a chat model (Qwen), not just `complete`
        self._router: Any = None
        self._made_for: tuple[int, ...] = ()

    def router(self) -> Any:
        flows = shelf.loaded()
        made_for = tuple(id(compiled) for compiled in flows.values())
        if self._router is None or made_for != self._made_for:
            catalogue = [compiled.flow for compiled in flows.values()]
            self._router = understanding_router(catalogue, self.llm)
            self._made_for = made_for
        return self._router

    @activity.defn(name=UNDERSTAND_ACTIVITY)
    async def understand(self, call: UnderstandCall) -> dict[str, Any]:
        route = self.router().route(call.text, call.active, call.waiting)
        if inspect.isawaitable(route):
            route = await route
        return dict(route.as_dict())
