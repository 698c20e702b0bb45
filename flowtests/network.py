"""The network and the model as a flow test case scripts them: answer times and going offline.

A case's model answers come from the scripted server over the real client, and the
network can drop and come back (`{at: 4s, offline: true}`, `{at: 9s, online: true}`).
Both happen on the case's virtual clock:

* an answer with `delay` reaches the caller that much later (a step's `timeout`
  shorter than it fails with TIMEOUT; events in between are handled meanwhile);
* while offline the scripted model refuses connections, so an `llm` step fails the
  way the client reports it (UNAVAILABLE), and the skills that need the network
  answer as the glasses' embedded defaults do (OFFLINE);
* an answer still on its way when the network drops never arrives.

The server answers at once; these wrappers around the production client and the
online skills wait on the session's clock (`context.sleep`), so a 30-second answer
costs no real time. Answers are matched to calls in the order requests arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from engine.assistant.chat_model import LlmError
from engine.runtime.runner import SkillError
from flowtests.scripted_llm import OpenAICompatServer

__all__ = ["CaseModel", "Network", "Skill", "case_skills", "network_skill"]

Skill = Callable[[dict[str, Any], Any], Any]


class Network:
    """When the case's network is up: `switches` are (at_ms, online) in time order; up until the first."""

    def __init__(self, switches: list[tuple[int, bool]], server: OpenAICompatServer | None) -> None:
        self.switches = switches
        self.server = server

    def online(self, at: int) -> bool:
        state = True
        for when, online in self.switches:
            if when > at:
                break
            state = online
        return state

    def lost(self, start: int, end: int) -> bool:
        """Whether the network was down at some moment after `start`, up to `end`."""
        return not self.online(end) or any(not up and start < when <= end for when, up in self.switches)

    def sync(self, now: int) -> None:
        """The scripted model listens exactly while the network is up."""
        if self.server is not None:
            self.server.set_reachable(self.online(now))

    def mark(self) -> int:
        return len(self.server.served) if self.server is not None else 0

    async def answer_time(self, mark: int, context: Any) -> None:
        """Wait, on the session's clock, for as long as the answers served since `mark` take."""
        taken = self.server.taken_since(mark) if self.server is not None else 0
        if taken and context is not None:
            await context.sleep(taken)


class CaseModel:
    """The `llm` step's model: the production client, on the case's network and clock."""

    def __init__(self, client: Any, network: Network) -> None:
        self.client = client
        self.network = network

    async def complete(
        self, prompt: str, system: str | None, image: str | None, schema: Any, context: Any = None
    ) -> Any:
        now = context.now if context is not None else (lambda: 0)
        start = now()
        self.network.sync(start)
        mark = self.network.mark()
        try:
            answer = await self.client.complete(prompt, system, image, schema, context=context)
        except asyncio.CancelledError:
            raise
        except Exception:
            await self.network.answer_time(mark, context)  # a failure takes its time too
            raise
        await self.network.answer_time(mark, context)
        if self.network.lost(start, now()):
            raise LlmError("UNAVAILABLE", "the network went away before the model's answer arrived")
        return answer

    async def aclose(self) -> None:
        await self.client.aclose()


def network_skill(name: str, online: Skill, offline: Skill, network: Network) -> Skill:
    """A skill that needs the network: online it calls the provider (its answer taking the scripted
    time, its progress events held back until then), offline it answers as the embedded default."""

    async def skill(args: dict[str, Any], ctx: Any) -> Any:
        start = ctx.now()
        if not network.online(start):
            return await offline(args, ctx)
        network.sync(start)
        mark = network.mark()
        held: list[tuple[str, dict[str, Any]]] = []

        def emit(event: str, data: dict[str, Any]) -> None:
            if held or (network.server is not None and network.server.taken_since(mark)):
                held.append((event, data))  # the answer is not there yet on the session's clock
            else:
                ctx.emit(event, data)

        try:
            result = await online(args, replace(ctx, emit=emit))
        except asyncio.CancelledError:
            raise
        except Exception:
            await network.answer_time(mark, ctx)
            raise
        await network.answer_time(mark, ctx)
        if network.lost(start, ctx.now()):
            raise SkillError("OFFLINE", f"{name}: the network went away before the answer arrived")
        for event, data in held:
            ctx.emit(event, data)
        return result

    return skill


def _implementation(skill: Any) -> tuple[str, str]:
    return str(getattr(skill, "__module__", "")), str(getattr(skill, "__qualname__", ""))


def case_skills(online: dict[str, Skill], offline: dict[str, Skill], network: Network) -> dict[str, Skill]:
    """The device's skills for a case: those whose online provider differs from the embedded
    default need the network, and follow it; the others run as they are."""
    skills = dict(online)
    for name, skill in online.items():
        if name in offline and _implementation(skill) != _implementation(offline[name]):
            skills[name] = network_skill(name, skill, offline[name], network)
    return skills
