"""Assistant turn costs, measured in one run against a local OpenAI-compatible server answering at once.

* engine overhead per user turn on the session host (turn time minus the time
  spent waiting on the model server) against one bare LangGraph invoke with
  `AsyncSqliteSaver`: target <= 2x;
* bytes the session store keeps per handled device event (target 0: one row per
  session, replaced; a checkpointer's history grew by ~2.3 KB per event);
* prompt size of the routing call with every shipped flow (characters: no Qwen
  tokenizer runs offline here);
* model calls per utterance over the labelled utterance set: target <= 1.1.

Usage: python bench/agent_bench.py [--turns N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TypedDict

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_core.runnables import RunnableConfig  # noqa: E402
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402

from engine.assistant.host import SessionHost  # noqa: E402
from engine.assistant.model_router import SYSTEM_PROMPT, ModelRouter  # noqa: E402
from engine.assistant.routing import OfflineRouter  # noqa: E402
from engine.assistant.store_sqlite import SqliteSessionStore  # noqa: E402
from engine.runtime.compiler import compile_flow  # noqa: E402
from skills.qwen.client import LlmSettings, QwenClient  # noqa: E402
from tests.support.flows import flow_of  # noqa: E402
from tests.support.routing import CASES  # noqa: E402
from tests.support.servers.openai_compat import OpenAICompatServer  # noqa: E402


class TimedClient(QwenClient):
    """Counts the wall time spent inside model calls (the server's share of a turn)."""

    waited: float = 0.0

    async def chat(self, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await super().chat(*args, **kwargs)
        finally:
            TimedClient.waited += time.perf_counter() - started


class Bare(TypedDict, total=False):
    n: int


async def bare_invokes(db: str, n: int) -> float:
    async def node(state: Bare) -> dict[str, int]:
        return {"n": state.get("n", 0) + 1}

    graph = StateGraph(Bare)
    graph.add_node("node", node)
    graph.add_edge(START, "node")
    graph.add_edge("node", END)
    async with AsyncSqliteSaver.from_conn_string(db) as saver:
        app = graph.compile(checkpointer=saver)
        config: RunnableConfig = {"configurable": {"thread_id": "bare"}}
        first: Bare = {"n": 0}
        await app.ainvoke(first, config)
        started = time.perf_counter()
        nothing: Bare = {}
        for _ in range(n):
            await app.ainvoke(nothing, config)
        return (time.perf_counter() - started) / n


async def assistant_turns(db: str, server: OpenAICompatServer, flows: dict[str, Any], n: int) -> float:
    client = TimedClient(LlmSettings(base_url=server.base_url, api_key_env="LENSFLOW_BENCH_NO_KEY", max_retries=0))
    router = ModelRouter([c.flow for c in flows.values()], client)
    store = SqliteSessionStore(db)
    host = SessionHost(flows, store, router)
    for _ in range(n + 1):
        server.reply(tool_calls=[("answer", {"text": "ok"})])
    await host.turn("warm", "hello")
    TimedClient.waited = 0.0
    started = time.perf_counter()
    for i in range(n):
        await host.turn(f"t{i % 5}", "tell me something")
    total = time.perf_counter() - started
    host.close()
    store.close()
    return (total - TimedClient.waited) / n


def _stored_bytes(path: str) -> int:
    with sqlite3.connect(path) as db:
        db.execute("pragma wal_checkpoint(truncate)")
    return os.path.getsize(path)


async def bytes_per_event(db: str, flows: dict[str, Any], n: int) -> float:
    """Growth of the session store over `n` device events on one running navigation session."""
    store = SqliteSessionStore(db)
    host = SessionHost(flows, store, OfflineRouter([c.flow for c in flows.values()]), virtual=True)
    session = await host.session("kept")
    await session.say("take me to the station")
    for i in range(n):  # warm: the row reaches its working size
        await session.device_event("location.update", {"lat": 31.2 + i / 10_000, "lng": 121.4})
    before = _stored_bytes(db)
    for i in range(n):
        await session.device_event("location.update", {"lat": 31.2 - i / 10_000, "lng": 121.4})
    after = _stored_bytes(db)
    host.close()
    store.close()
    return (after - before) / n


async def calls_per_utterance(server: OpenAICompatServer, flows: dict[str, Any]) -> tuple[float, int]:
    client = QwenClient(LlmSettings(base_url=server.base_url, api_key_env="LENSFLOW_BENCH_NO_KEY", max_retries=0))
    router = ModelRouter([c.flow for c in flows.values()], client)
    for case in CASES:
        expect = case["expect"]
        if expect["command"] == "start_flow":
            server.reply(tool_calls=[(f"start_{expect['flow']}", expect.get("slots") or {})])
        elif expect["command"] == "confirm":
            server.reply(tool_calls=[("confirm", {"answer": expect["answer"]})])
        elif expect["command"] == "set_slots":
            server.reply(tool_calls=[("set_slots", {"slots": expect.get("slots") or {}})])
        elif expect["command"] == "cancel":
            server.reply(tool_calls=[("cancel", {})])
        else:
            server.reply(tool_calls=[("answer", {"text": "I don't know."})])
    before = len(server.requests)
    for case in CASES:
        await router.route(case["text"], case.get("active"), case.get("awaiting"))
    prompt = server.requests[-1]
    size = len(json.dumps(prompt["tools"], ensure_ascii=False)) + len(SYSTEM_PROMPT)
    return (len(server.requests) - before) / len(CASES), size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=100)
    args = parser.parse_args()
    flows = {}
    for path in sorted((ROOT / "flows").glob("*.yaml")):
        flow = flow_of(path)
        flows[flow.id] = compile_flow(flow)
    server = OpenAICompatServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bare, turn = [], []
            for round_ in range(3):
                bare.append(asyncio.run(bare_invokes(f"{tmp}/bare{round_}.sqlite", args.turns)))
                turn.append(asyncio.run(assistant_turns(f"{tmp}/turn{round_}.sqlite", server, flows, args.turns)))
            calls, prompt_chars = asyncio.run(calls_per_utterance(server, flows))
            kept = asyncio.run(bytes_per_event(f"{tmp}/kept.sqlite", flows, 500))
    finally:
        server.stop()
    t_bare, t_turn = statistics.median(bare), statistics.median(turn)
    print(f"{'measure':<52}{'value':>14}")
    print(f"{'bare LangGraph invoke + AsyncSqliteSaver':<52}{t_bare * 1000:>11.2f} ms")
    print(f"{'assistant turn, engine overhead (model time removed)':<52}{t_turn * 1000:>11.2f} ms")
    print(f"overhead ratio: {t_turn / t_bare:.2f}x (target <= 2x)")
    print(f"session store growth per handled device event: {kept:.0f} bytes (target 0)")
    print(f"routing prompt with all shipped flows: {prompt_chars:,} characters (tools + system prompt)")
    print(f"model calls per utterance over {len(CASES)} labelled utterances: {calls:.2f} (target <= 1.1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
