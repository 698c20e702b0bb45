"""The turn loop without the `agent` extra: the same three nodes in order, the same turns and traces.

The absence is real: a fresh interpreter where `import langgraph` fails, as on the base install.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from typing import Any

from engine.assistant.store_sqlite import SqliteSessionStore
from tests.support import ROOT
from tests.support.assistant import Payments, counting_host

WORDS = ["pay 25 yuan", "yes", "take a photo", "tell me a joke", "navigate to West Lake"]


def scenario() -> dict[str, Any]:
    """Every turn's result and the whole trace of one simulated session (run ids, which are random, masked)."""

    async def play() -> dict[str, Any]:
        trace: list[dict[str, Any]] = []
        host = counting_host(SqliteSessionStore(":memory:"), Payments(), virtual=True, on_trace=trace.append)
        session = await host.session("s1")
        turns = [await session.say(words) for words in WORDS]
        return {"graph": host.turns.use_graph, "turns": turns, "trace": trace}

    text = json.dumps(asyncio.run(play()), default=str)
    for run in set(re.findall(r'"run": "([0-9a-f]+)"', text)):
        text = text.replace(run, "RUN")
    played: dict[str, Any] = json.loads(text)
    return played


def test_without_langgraph_the_nodes_run_in_order_with_the_same_turns_and_trace() -> None:
    code = (
        "import json, sys\n"
        "sys.modules['langgraph'] = None  # as when the agent extra is not installed\n"
        "from tests.engine.assistant.test_agent_without_langgraph import scenario\n"
        "played = scenario()\n"
        "played['loaded'] = sorted(m for m, v in sys.modules.items() if v and m.startswith('langgraph'))\n"
        "print(json.dumps(played))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    without = json.loads(proc.stdout)
    with_graph = scenario()
    assert (without.pop("graph"), without.pop("loaded"), with_graph.pop("graph")) == (False, [], True)
    assert [t["route"]["command"] for t in with_graph["turns"]] == [
        "start_flow",
        "confirm",
        "start_flow",
        "answer",
        "start_flow",
    ]
    assert without == with_graph
