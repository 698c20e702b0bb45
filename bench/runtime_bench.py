"""Runtime speed and memory, as ratios measured in the same run.

* events/s through the interpreter on a 10-state ring (one CEL guard and one `set`
  per transition) against a raw `transitions.Machine` of the same shape with
  equivalent Python callbacks: target >= 0.5x;
* the same ring nested two levels deep: target >= 0.4x of the raw flat machine;
* memory per idle session: target <= 4 KB; 10,000 live sessions in one process;
* snapshot + restore of a session against the cost of one event: target <= 10x.

Usage: python bench/runtime_bench.py [--events N]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transitions import Machine  # noqa: E402

from engine.language.builder import build_flow  # noqa: E402
from engine.language.yaml_reader import read_yaml  # noqa: E402
from engine.runtime.compiler import compile_flow  # noqa: E402
from engine.runtime.session import Session  # noqa: E402
from engine.runtime.step import Interpreter  # noqa: E402

N_STATES = 10


def ring_flow(nested: bool) -> str:
    lines = ["flow: ring", "permissions: [display]", "initial: s0", "states:"]
    for i in range(N_STATES):
        nxt = f"s{(i + 1) % N_STATES}"
        body = [
            f"  s{i}:",
            "    on:",
            "      go:",
            '        - if: "vars.count < 1000000000"',
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

    def guard(event_data: object) -> bool:
        return event_data.model.count < 1_000_000_000  # type: ignore[attr-defined]

    def act(event_data: object) -> None:
        event_data.model.count += 1  # type: ignore[attr-defined]

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
        event.trigger(model)
    return (time.perf_counter() - started) / n


def interpreter_for(nested: bool) -> tuple[Interpreter, Session]:
    document = read_yaml(ring_flow(nested), "ring.yaml")
    compiled = compile_flow(build_flow(document.data, document.source).flow)
    interp = Interpreter(compiled, trace=False)
    session = Session("bench", "ring")
    session.vars["count"] = 0
    interp.start(session, 0)
    return interp, session


def per_event_runtime(n: int, nested: bool) -> float:
    interp, session = interpreter_for(nested)
    send = interp.send
    started = time.perf_counter()
    for i in range(n):
        send(session, "go", None, i)
    elapsed = (time.perf_counter() - started) / n
    assert session.vars["count"] == n, session.vars
    return elapsed


def idle_session_bytes(count: int) -> float:
    interp, _ = interpreter_for(False)
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
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    for session in sessions[:100]:
        interp.send(session, "go", None, 1)  # every one of them is live, not just stored
    return total / count


def snapshot_restore_seconds(n: int) -> float:
    interp, session = interpreter_for(False)
    for i in range(5):
        interp.send(session, "go", None, i)
    started = time.perf_counter()
    for _ in range(n):
        Session.restore(json.loads(json.dumps(session.snapshot())))
    return (time.perf_counter() - started) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    raw, flat, nested = [], [], []
    for _ in range(args.repeat):  # interleaved, medians
        raw.append(per_event_raw(args.events))
        flat.append(per_event_runtime(args.events, nested=False))
        nested.append(per_event_runtime(args.events, nested=True))
    t_raw, t_flat, t_nested = statistics.median(raw), statistics.median(flat), statistics.median(nested)
    per_session = idle_session_bytes(args.sessions)
    t_snap = snapshot_restore_seconds(5000)

    rows = [
        ("raw transitions.Machine, flat", f"{1 / t_raw:,.0f} ev/s", "1.00x", ""),
        ("runtime, flat 10-state ring", f"{1 / t_flat:,.0f} ev/s", f"{t_raw / t_flat:.2f}x", ">= 0.5x"),
        ("runtime, ring nested 2 levels", f"{1 / t_nested:,.0f} ev/s", f"{t_raw / t_nested:.2f}x", ">= 0.4x"),
        (f"idle session ({args.sessions:,} live)", f"{per_session:,.0f} B", "", "<= 4096 B"),
        ("snapshot + restore / one event", f"{t_snap * 1e6:,.1f} us", f"{t_snap / t_flat:.1f}x", "<= 10x"),
    ]
    print(f"{'measure':<34}{'value':>16}{'ratio':>9}{'target':>12}")
    for name, value, ratio, target in rows:
        print(f"{name:<34}{value:>16}{ratio:>9}{target:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
