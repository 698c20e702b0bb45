"""Which flow versions a session workflow runs: pinned by content hash, chosen once per run, recorded.

A session is pinned to the content hashes of the flows it runs: the flow it started and
every flow that one can call or link to (`FlowPin`s, in the workflow's input and carried
over continue-as-new). A run asks the worker that takes its first task which versions to
run, in a local activity, so the answer is in the history: a replay on any worker reads
it instead of asking its own (maybe newer) flows.

* A new session runs the worker's loaded versions of its flow and of everything it calls.
* A continued session (a run after continue-as-new) keeps its pinned versions, except
  where the worker's loaded version declares a migration from the pinned `version:`:
  then it runs the loaded one, and `Runner.resume` migrates the snapshot onto it, as the
  embedded host does on restore (`engine.runtime.versions.pin`). So a migration is
  applied at a continue-as-new, never inside a run.

The workflow then takes each chosen version from the shelf by hash (the worker's loaded
flows, or its archive); one it cannot find raises `shelf.FlowVersionMissing`, failing the
workflow task, which Temporal retries until a worker that has the version takes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from backends.temporal import shelf
    from engine.runtime.compiled import CompiledFlow
    from engine.runtime.runner import Runner
    from engine.runtime.versions import FlowVersions

__all__ = [
    "PINNING_PATCH",
    "VERSIONS_ACTIVITY",
    "FlowPin",
    "PinnedFlows",
    "RunFlows",
    "ShelfVersions",
    "VersionsRequest",
    "callees",
    "carried_pins",
    "choose_versions",
    "run_flows",
    "worker_versions",
]

VERSIONS_ACTIVITY = "lensflow.flow_versions"
PINNING_PATCH = "lensflow-pinned-flow-versions"  # runs started before sessions were pinned replay without it
VERSIONS_TIMEOUT = timedelta(seconds=10)


@dataclass
class FlowPin:
    """One flow version a session runs: its content hash, and its `version:` (what a migration names)."""

    hash: str
    version: int | None = None


@dataclass
class VersionsRequest:
    """What a run asks its worker: the session's flow, and the versions it is pinned to (None: a new session)."""

    flow: str
    pins: dict[str, FlowPin] | None = None


def _pin(compiled: CompiledFlow) -> FlowPin:
    return FlowPin(compiled.hash, compiled.version)


def callees(compiled: CompiledFlow) -> set[str]:
    """The flows `compiled` can call or link to (named statically in its states)."""
    named = set()
    for state in compiled.states.values():
        node = state.state
        if node.call is not None:
            named.add(node.call.flow)
        if node.link is not None:
            named.add(node.link.flow)
    return named


def choose_versions(
    loaded: Mapping[str, CompiledFlow], flow: str, pins: Mapping[str, FlowPin] | None
) -> dict[str, FlowPin]:
    """The versions a run serves, by flow id: the pinned ones (flows a session runs, and what they call), or
    the loaded ones where they are the same or declare a migration from the pinned version; every other
    flow the worker serves at its loaded version, since the wearer's words may start any of them. A flow
    no worker loaded is left out: calling it fails in the flow, as on the embedded host."""
    chosen: dict[str, FlowPin] = {}
    for flow_id, pin in (pins or {}).items():
        now = loaded.get(flow_id)
        moves = now is not None and (now.hash == pin.hash or now.flow.migration_from(pin.version) is not None)
        chosen[flow_id] = _pin(now) if moves and now is not None else pin
    for flow_id in sorted({flow, *loaded} - set(chosen)):  # words may start any flow the worker serves
        if flow_id in loaded:
            chosen[flow_id] = _pin(loaded[flow_id])
    pending = sorted(f for f, pin in chosen.items() if f in loaded and loaded[f].hash == pin.hash)
    while pending:
        for callee in sorted(callees(loaded[pending.pop()])):
            if callee not in chosen and callee in loaded:
                chosen[callee] = _pin(loaded[callee])
                pending.append(callee)
    return chosen


@activity.defn(name=VERSIONS_ACTIVITY)
async def worker_versions(request: VersionsRequest) -> dict[str, FlowPin]:
    """The local activity a run asks through: `choose_versions` over this worker's loaded flows."""
    return choose_versions(shelf.loaded(), request.flow, request.pins)


class ShelfVersions(FlowVersions):
    """`Runner.resume`'s archive inside a workflow: versions from the shelf, never None for a missing one
    (that would end the session on one worker and keep it on another); nothing archived from here."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(None)

    def keep(self, compiled: CompiledFlow) -> None:
        """Nothing: the worker archived its loaded versions when it started."""

    def compiled(self, flow_hash: str) -> CompiledFlow:
        return shelf.version(flow_hash)


class PinnedFlows(Mapping[str, CompiledFlow]):
    """A run's flows by id, each taken from the shelf only when the run first needs it: a replay needs
    only the versions the session really ran (a flow it never started may be an old version no worker
    has any more). `compiled` hears of each one taken (the workflow adds its skills)."""

    def __init__(self, pins: Mapping[str, FlowPin], compiled: Callable[[CompiledFlow], None] | None = None) -> None:
        self.pins = dict(pins)
        self.taken: dict[str, CompiledFlow] = {}
        self.compiled = compiled

    def __getitem__(self, flow_id: str) -> CompiledFlow:
        found = self.taken.get(flow_id)
        if found is None:
            found = self.taken[flow_id] = shelf.version(self.pins[flow_id].hash)
            if self.compiled is not None:
                self.compiled(found)
        return found

    def __contains__(self, flow_id: object) -> bool:
        return flow_id in self.pins

    def __iter__(self) -> Iterator[str]:
        return iter(self.pins)

    def __len__(self) -> int:
        return len(self.pins)


@dataclass
class RunFlows:
    """The versions one run serves: compiled (on demand), by flow id, and the pins they came from."""

    compiled: Mapping[str, CompiledFlow]
    pins: dict[str, FlowPin]


async def run_flows(flow: str, pins: dict[str, FlowPin] | None) -> RunFlows:
    """In a workflow: the versions this run serves, chosen by the worker that ran its first task.

    A run started before sessions were pinned (its history has no pinning marker) replays
    on the worker's loaded flows, as it ran then.
    """
    if not workflow.patched(PINNING_PATCH):
        current = dict(shelf.loaded())
        return RunFlows(current, {flow_id: _pin(compiled) for flow_id, compiled in current.items()})
    chosen = await workflow.execute_local_activity(
        worker_versions, VersionsRequest(flow, pins), start_to_close_timeout=VERSIONS_TIMEOUT
    )
    return RunFlows(PinnedFlows(chosen), chosen)


def carried_pins(runner: Runner, flows: RunFlows) -> dict[str, FlowPin]:
    """The pins a continued run starts from: each flow on the stack at the version its session is on (a
    migration that did not fit leaves a session on its older version), and the versions those can call.
    A flow no session runs is not pinned: the next run serves the worker's version of it."""
    pins: dict[str, FlowPin] = {}
    for frame in runner.stack:
        pins[frame.session.flow_id] = _pin(frame.compiled)
    pending = [frame.compiled for frame in runner.stack]
    while pending:
        for callee in sorted(callees(pending.pop())):
            if callee not in pins and callee in flows.pins:
                pins[callee] = flows.pins[callee]
                pending.append(flows.compiled[callee])
    return pins
