"""Runtime speed and memory, as ratios measured in the same run.

What production runs is the public `Runner` (the bridge and the assistant hold one per
wearer): events go in with `await runner.send(...)`, the trace is kept (and trimmed
the way the bridge trims it), effects are carried out. So the headline is:

* events/s through `Runner.send` on a 10-state ring, each transition guarded by a
  real CEL expression (one the Python fast path cannot take, checked below) and
  doing one `set`, against a raw flat `transitions.Machine` of the same shape with
  an equivalent Python guard and callback: target >= 0.5x;
* the same ring nested two levels deep, through the `Runner`: target >= 0.4x;
* the bare step (`Interpreter.send`, no trace, no shell) on the flat ring, for
  reference: how much of the cost is the shell;
* memory of a live idle session: a `Runner` that has started the ring flow, as the
  bridge holds one per wearer (its interpreter, trace, clock, LED, session):
  target <= 2 KB; the bare `Session` beside it;
* snapshot + restore of a session against the cost of one event: target <= 10x.

Usage: python bench/runtime_bench.py [--events N] [--sessions N] [--repeat N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transitions import Machine  # noqa: E402

from engine.assistant.assistant_session import TRACE_KEPT  # noqa: E402
from engine.language.builder import build_flow  # noqa: E402
from engine.language.expressions import CompiledExpression  # noqa: E402
from engine.language.yaml_reader import read_yaml  # noqa: E402
from engine.runtime.compiler import CompiledFlow, compile_flow  # noqa: E402
from engine.runtime.runner import Runner  # noqa: E402
from engine.runtime.session import Session  # noqa: E402
from engine.runtime.step import Interpreter  # noqa: E402
from tests.support.memory import idle_runner_bytes  # noqa: E402

N_STATES = 10
# A guard the Python fast path cannot take (`in` is outside its subset): CEL evaluates it.
GUARD = "vars.count < 1000000000 && event.kind in ['tick']"
EVENT = {"kind": "tick"}
KEEP_TRACE = TRACE_KEPT  # the trace entries a hosted session keeps (engine/assistant/host.py TRACE_KEPT)


def ring_flow(nested: bool) -> str:
    lines = ["flow: ring", "permissions: [display]", "initial: s0", "states:"]
    for i in range(N_STATES):
        nxt = f"s{(i + 1) % N_STATES}"
        body = [
            f"  s{i}:",
            "    on:",
            "      go:",
            f'        - if: "{GUARD}"',
            f"          target: {nxt}",
            '          do: [{set: {vars.count: "vars.count + 1"}}]',
        ]
        if nested:  # each ring state sits two levels deep: g{i} > h{i} > s{i}
            body = [f"  g{i}:", "    states:", f"      h{i}:", "        states:"] + ["        " + b for b in body]
        lines += body
    lines += ["  done: {type: final}"]
    return "\n".join(lines) + "\n"


def raw_machine() -> tuple[Machine, object]:
    class Model:
        def __init__(self) -> None:
            self.count = 0
            self.state = "s0"

    def guard(event_data: Any) -> bool:
        return bool(event_data.model.count < 1_000_000_000 and event_data.kwargs.get("kind") == "tick")

    def act(event_data: Any) -> None:
        event_data.model.count += 1

    states = [f"s{i}" for i in range(N_STATES)]
    machine = Machine(model=None, states=states, initial="s0", auto_transitions=False, send_event=True)
    for i in range(N_STATES):
        machine.add_transition("go", f"s{i}", f"s{(i + 1) % N_STATES}", conditions=[guard], after=[act])
    model = Model()
    machine.add_model(model)
    return machine, model


def per_event_raw(n: int) -> float:
    machine, model = raw_machine()
    event = machine.events["go"]
    started = time.perf_counter()
    for _ in range(n):
        event.trigger(model, **EVENT)
    elapsed = (time.perf_counter() - started) / n
    assert model.count == n  # type: ignore[attr-defined]
    return elapsed


def compiled_ring(nested: bool) -> CompiledFlow:
    document = read_yaml(ring_flow(nested), "ring.yaml")
    return compile_flow(build_flow(document.data, document.source).flow)


def per_event_runner(n: int, compiled: CompiledFlow) -> float:
    """Seconds per `await runner.send(...)`, trace kept and trimmed as the bridge does."""

    async def run() -> float:
        runner = Runner({"ring": compiled}, session_id="bench")
        await runner.start("ring", {})
        runner.session.vars["count"] = 0
        send, trace = runner.send, runner.trace
        started = time.perf_counter()
        for _ in range(n):
            await send("go", EVENT)
            if len(trace) > 2 * KEEP_TRACE:
                del trace[:-KEEP_TRACE]
        elapsed = (time.perf_counter() - started) / n
        assert runner.session.vars["count"] == n, runner.session.vars
        return elapsed

    return asyncio.run(run())


def per_event_step(n: int, compiled: CompiledFlow) -> float:
    """Seconds per bare `Interpreter.send` (no trace, no shell): the floor under the `Runner`."""
    interp = Interpreter(compiled, trace=False)
    session = Session("bench", "ring")
    session.vars["count"] = 0
    interp.start(session, 0)
    send = interp.send
    started = time.perf_counter()
    for i in range(n):
        send(session, "go", EVENT, i)
    elapsed = (time.perf_counter() - started) / n
    assert session.vars["count"] == n, session.vars
    return elapsed


def live_session_bytes(compiled: CompiledFlow, count: int) -> float:
    """Bytes per idle `Runner` that has started the ring flow (what the bridge holds per wearer)."""
    return idle_runner_bytes({"ring": compiled}, "ring", count, EVENT)


def bare_session_bytes(compiled: CompiledFlow, count: int) -> float:
    interp = Interpreter(compiled, trace=False)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    sessions = []
    for i in range(count):
        session = Session(f"s-{i}", "ring")
        session.vars["count"] = 0
        interp.start(session, 0)
        sessions.append(session)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename")) / count


def snapshot_restore_seconds(compiled: CompiledFlow, n: int) -> float:
    interp = Interpreter(compiled, trace=False)
    session = Session("bench", "ring")
    session.vars["count"] = 0
    interp.start(session, 0)
    for i in range(5):
        interp.send(session, "go", EVENT, i)
    started = time.perf_counter()
    for _ in range(n):
        Session.restore(json.loads(json.dumps(session.snapshot())))
    return (time.perf_counter() - started) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2_000, help="events per timed batch")
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30, help="batches per row, interleaved")
    args = parser.parse_args()
    if CompiledExpression(GUARD).fast_path:
        raise SystemExit(f"the guard {GUARD!r} takes the Python fast path: it would not measure CEL")
    flat, nested = compiled_ring(False), compiled_ring(True)

    raw, runner, runner_nested, step = [], [], [], []
    # Short batches, interleaved, and the fastest batch of each row: on a machine shared with
    # other work a slow batch measures the neighbours, the fastest one measures the code.
    for _ in range(args.repeat):
        raw.append(per_event_raw(args.events))
        runner.append(per_event_runner(args.events, flat))
        runner_nested.append(per_event_runner(args.events, nested))
        step.append(per_event_step(args.events, flat))
    t_raw, t_runner, t_nested, t_step = min(raw), min(runner), min(runner_nested), min(step)
    spread = statistics.median(raw) / statistics.median(runner)
    live = live_session_bytes(flat, args.sessions)
    bare = bare_session_bytes(flat, args.sessions)
    t_snap = snapshot_restore_seconds(flat, 5000)

    rows = [
        ("raw transitions.Machine, flat", f"{1 / t_raw:,.0f} ev/s", "1.00x", ""),
        ("Runner, flat ring, CEL guard", f"{1 / t_runner:,.0f} ev/s", f"{t_raw / t_runner:.2f}x", ">= 0.5x"),
        ("Runner, ring nested 2 levels", f"{1 / t_nested:,.0f} ev/s", f"{t_raw / t_nested:.2f}x", ">= 0.4x"),
        ("bare step, flat ring (reference)", f"{1 / t_step:,.0f} ev/s", f"{t_raw / t_step:.2f}x", ""),
        (f"live idle session ({args.sessions:,} Runners)", f"{live:,.0f} B", "", "<= 2048 B"),
        ("bare Session (reference)", f"{bare:,.0f} B", "", ""),
        ("snapshot + restore / one event", f"{t_snap * 1e6:,.1f} us", f"{t_snap / t_runner:.1f}x", "<= 10x"),
    ]
    print(f"guard on every transition: {GUARD} (CEL)")
    print(f"fastest of {args.repeat} interleaved batches of {args.events:,} events each")
    print(f"(Runner / raw of the medians instead: {spread:.2f}x)")
    print(f"{'measure':<42}{'value':>16}{'ratio':>9}{'target':>12}")
    for name, value, ratio, target in rows:
        print(f"{name:<42}{value:>16}{ratio:>9}{target:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
