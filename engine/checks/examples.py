"""The `example-routes-elsewhere` rule: each `triggers.examples` sentence must start its own flow.

Examples teach the offline router's meaning stage what a wearer says for a flow; one
that the router sends elsewhere teaches the wrong thing and misleads whoever reads the
flow. The rule has the router's two stages:

* trigger stage, always (fast, engine only): an example that says another flow's
  trigger phrase in full is started as that flow before meaning is looked at;
* meaning stage, only when a router is given (`validate --examples`: the embedding
  model must not load in plain `validate`, a fast command): every example is routed
  as a wearer's words would be, and anything but "start this flow" is reported.

    result = validate_paths(["flows"], example_router=offline_router)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Protocol

from engine.checks.base import FlowContext, ProjectContext, project_rule
from engine.checks.project import FlowSummary
from engine.findings import Severity
from engine.language.model import Flow
from engine.language.words import has_word, normalize_phrase

__all__ = ["ROUTER", "ExampleRouter", "Routed", "RouterFor", "example_routes_elsewhere", "says_in_full"]

ROUTER = "example_router"  # the ProjectContext.extra key of the router factory, when one is given


class Routed(Protocol):
    """What the rule reads of a route: the command, the flow started, the titles asked between."""

    @property
    def command(self) -> str: ...

    @property
    def flow(self) -> str | None: ...

    @property
    def options(self) -> tuple[str, ...]: ...


class ExampleRouter(Protocol):
    """Routes an utterance the way the offline router does (trigger phrases, then meaning)."""

    def route(self, utterance: str) -> Routed: ...


RouterFor = Callable[[Sequence[Flow]], ExampleRouter]  # builds the router over the flows of the run


@lru_cache(maxsize=32768)  # every example against every phrase of the folder, again on each editor keystroke
def says_in_full(phrase: str, utterance: str) -> bool:
    """Whether `utterance` contains `phrase` whole, as the trigger matcher reads both (CJK as a substring)."""
    said = normalize_phrase(phrase)
    return bool(said) and has_word(normalize_phrase(utterance), [said])


@project_rule(
    "example-routes-elsewhere",
    "A `triggers.examples` sentence would not start its own flow offline (another flow's trigger phrase, "
    "or with `validate --examples` its meaning).",
    Severity.WARNING,
)
def example_routes_elsewhere(project: ProjectContext) -> None:
    summaries: dict[str, FlowSummary] = project.extra.get("summaries", {})
    contexts = [ctx for ctxs in project.flows.values() for ctx in ctxs if ctx.flow.examples]
    flagged: set[tuple[str, int]] = set()
    for ctx in contexts:
        for index, example in enumerate(ctx.flow.examples):
            phrase, owner, mine = _other_trigger(ctx.flow, example, summaries)
            if not owner:
                continue
            flagged.add((ctx.flow.file, index))
            outcome = (
                f"as well as its own '{mine}', so the router asks which flow was meant"
                if mine
                else f"so the router starts '{owner}' before it looks at meaning"
            )
            ctx.report(
                "example-routes-elsewhere",
                f"example '{example}' says '{phrase}', a trigger phrase of flow '{owner}', {outcome}; "
                "reword the example or remove it",
                ("triggers", "examples", index),
                at_key=False,
            )
    make: RouterFor | None = project.extra.get(ROUTER)
    if make is None or not contexts:
        return
    router = make([ctx.flow for ctxs in project.flows.values() for ctx in ctxs])
    for ctx in contexts:
        for index, example in enumerate(ctx.flow.examples):
            if (ctx.flow.file, index) not in flagged:
                _route_by_meaning(ctx, router, index, example)


def _other_trigger(flow: Flow, example: str, summaries: dict[str, FlowSummary]) -> tuple[str, str, str]:
    """(phrase, its flow, an own phrase also said) for another flow's trigger phrase said in full, unless
    a longer own phrase holds it ("what is this painting" wins over "what is this"); empty when none is."""
    own = [p for p in flow.phrases if says_in_full(p, example)]
    for owner, summary in sorted(summaries.items()):
        if owner == flow.id:
            continue
        for phrase in summary.phrases:
            if says_in_full(phrase, example) and not any(says_in_full(phrase, mine) for mine in own):
                return phrase, owner, own[0] if own else ""
    return "", "", ""


def _route_by_meaning(ctx: FlowContext, router: ExampleRouter, index: int, example: str) -> None:
    route = router.route(example)
    flow = ctx.flow.id
    if route.command == "start_flow" and route.flow == flow:
        return
    if route.command == "start_flow":
        why = (
            f"starts flow '{route.flow}' offline: it is nearer what '{route.flow}' says about itself; "
            f"reword it so that only '{flow}' fits it, or move it to '{route.flow}'"
        )
    elif route.command == "clarify":
        why = (
            f"is about as near {' and '.join(repr(o) for o in route.options)}, so the router asks which one "
            f"was meant; say more of what only '{flow}' does"
        )
    else:
        why = (
            "is nearer the off-topic talk the router ignores than this flow, so nothing starts; "
            f"say what '{flow}' does in the wearer's words"
        )
    ctx.report("example-routes-elsewhere", f"example '{example}' {why}", ("triggers", "examples", index), at_key=False)
