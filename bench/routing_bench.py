"""Offline router accuracy on the labelled utterance set (tests/fixtures/utterances.yaml), and its speed;
then model calls per utterance with a model configured (a local OpenAI-compatible server), split by whether
the offline router was sure (no call) or not, and the time a sure utterance saves.

Usage: python bench/routing_bench.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.assistant.model_router import SYSTEM_PROMPT, ModelRouter  # noqa: E402
from skills.qwen.client import LlmSettings, QwenClient  # noqa: E402
from tests.support import FIXTURES  # noqa: E402
from tests.support.routing import CASES, INDEPENDENT, correct, shipped_router  # noqa: E402
from tests.support.servers.openai_compat import OpenAICompatServer  # noqa: E402

DISAGREEING = yaml.safe_load((FIXTURES / "routing" / "model_calls.yaml").read_text(encoding="utf-8"))


def main() -> int:
    for name, cases in (("labelled set", CASES), ("independent set", INDEPENDENT)):
        print(f"== {name} ({len(cases)} utterances)")
        report(cases)
    server = OpenAICompatServer().start()
    try:
        for name, cases in (
            ("labelled set", CASES),
            ("independent set", INDEPENDENT),
            ("model-disagrees set", DISAGREEING),
        ):
            print(f"== model calls, {name} ({len(cases)} utterances, local OpenAI-compatible server)")
            asyncio.run(model_calls(server, cases))
    finally:
        server.stop()
    return 0


async def model_calls(server: OpenAICompatServer, cases: list[dict[str, Any]]) -> None:
    """Calls per utterance, sure vs not, and per sure utterance the time of the call it did not make."""
    settings = LlmSettings(base_url=server.base_url, api_key_env="LENSFLOW_TEST_NO_KEY", max_retries=0)
    router = ModelRouter([flow for flow in shipped_router().flows.values()], QwenClient(settings))
    calls: Counter[str] = Counter()
    count: Counter[str] = Counter()
    right: Counter[str] = Counter()
    routed: dict[str, list[float]] = {"sure": [], "unsure": []}
    skipped: list[float] = []
    for case in cases:
        server.replies.clear()
        tool, arguments = case.get("model") or ("answer", {"text": "scripted"})
        server.reply(tool_calls=[(tool, arguments)])
        before = len(server.requests)
        started = time.perf_counter()
        route = await router.route(case["text"], case.get("active"), case.get("awaiting"))
        took = time.perf_counter() - started
        group = "sure" if router.last_sure else "unsure"
        count[group] += 1
        calls[group] += len(server.requests) - before
        right[group] += correct(route, case["expect"])
        routed[group].append(took)
        if group == "sure":  # the call a sure utterance did not make, made on purpose to time it
            server.reply(tool_calls=[(tool, arguments)])
            messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": case["text"]}]
            started = time.perf_counter()
            await router.client.chat(messages, tools=router.tools)
            skipped.append(time.perf_counter() - started)
    scripted = all("model" in case for case in cases)  # else the model's answers are not labelled: no accuracy
    print(f"{'group':<10}{'utterances':>12}{'model calls':>13}{'per utterance':>15}{'correct':>9}{'median ms':>11}")
    for group in ("sure", "unsure"):
        if count[group]:
            median = statistics.median(routed[group]) * 1e3
            share = f"{right[group] / count[group]:.0%}" if scripted or group == "sure" else "-"
            print(
                f"{group:<10}{count[group]:>12}{calls[group]:>13}{calls[group] / count[group]:>15.2f}"
                f"{share:>9}{median:>11.2f}"
            )
    if skipped:
        saved = statistics.median(skipped) - statistics.median(routed["sure"])
        print(f"time saved per sure utterance against the local server: {saved * 1e3:.2f} ms (median)")


def report(cases: list) -> None:
    router = shipped_router()
    totals: Counter[str] = Counter()
    right: Counter[str] = Counter()
    times = []
    for case in cases:
        language = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in case["text"]) else "en"
        started = time.perf_counter()
        route = router.route(case["text"], case.get("active"), case.get("awaiting"))
        times.append(time.perf_counter() - started)
        for key in (language, case["expect"]["command"], "all"):
            totals[key] += 1
            right[key] += correct(route, case["expect"])
    print(f"{'set':<12}{'utterances':>12}{'accuracy':>10}")
    for key in ("all", "en", "zh", "start_flow", "set_slots", "cancel", "confirm", "answer"):
        if totals[key]:
            print(f"{key:<12}{totals[key]:>12}{right[key] / totals[key]:>10.1%}")
    print(f"median routing time: {statistics.median(times) * 1e6:.0f} us per utterance (no model call)")


if __name__ == "__main__":
    sys.exit(main())
