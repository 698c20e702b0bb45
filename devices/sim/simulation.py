"""One scenario played on the simulated glasses: what `simulate` and flow tests share.

The scenario runs on the session host, like the glasses and the chat: a session on
the virtual clock, started on the flow the scenario names (or idle, when the
wearer's first words are to choose one). What the wearer says goes through the
assistant's turn loop; device events go straight to the flow; what the camera
sees is queued for it. The result keeps the runtime trace and the device log
apart, and merges them in time order for the files and assertions that want one
story.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devices.sim.scenario import SimScenario
from devices.sim.simulator import SimulatedDevice
from engine.assistant.assistant_session import AssistantSession
from engine.assistant.host import SessionHost
from engine.assistant.links import PortsLink
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.errors import UserError
from engine.language.catalog import DeviceProfile
from engine.runtime.runner import LlmProvider, Runner, Skill

__all__ = ["MAX_SIMULATION_TRACE", "ProfileRefused", "Simulation", "check_profile", "phrase_recognizer", "simulate"]

MAX_SIMULATION_TRACE = 1_000_000  # a scenario's whole trace is its result (a live session keeps only the newest)


@dataclass
class Simulation:
    session: AssistantSession
    device: SimulatedDevice

    @property
    def runner(self) -> Runner:
        return self.session.runner

    @property
    def trace(self) -> list[dict[str, Any]]:
        """The runtime trace of the whole scenario, every flow the session ran."""
        return [*self.session.trace, *self.session.runner.trace]

    def end_state(self) -> dict[str, Any]:
        """The `end` line of the run (for a session where no flow ever ran: nothing active, not done)."""
        if self.runner.stack:
            return self.runner.end_state()
        return {"kind": "end", "flow": None, "states": [], "done": False, "final": None, "slots": {}, "vars": {}}

    def entries(self) -> list[dict[str, Any]]:
        """The runtime trace and the device log as one list, in time order."""
        return sorted([*self.trace, *self.device.log], key=lambda e: e.get("t", 0))

    def write_trace(self, out: Path) -> None:
        import json

        with (out / "trace.jsonl").open("w", encoding="utf-8") as handle:
            for entry in self.entries():
                handle.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")


def phrase_recognizer(compiled: dict[str, Any]) -> Any:
    """A WAV-to-text function for scenarios, tuned to what the flows expect to hear (`flow_phrases`);
    pocketsphinx loads on first use."""
    recognizer: Any = None

    def recognise(path: Path) -> str:
        nonlocal recognizer
        if recognizer is None:
            from devices.audio.asr import Recognizer, flow_phrases

            recognizer = Recognizer(flow_phrases(c.flow for c in compiled.values()))
        return str(recognizer.recognize(path))

    return recognise


class ProfileRefused(UserError):
    """The device profile lacks a capability the flow requires: real glasses would refuse to start it."""

    code = "PROFILE_REFUSED"


def check_profile(flow: Any, profile: DeviceProfile) -> None:
    missing = [c for c in flow.requires if c not in profile.capabilities]
    if missing:
        raise ProfileRefused(
            f"flow '{flow.id}' requires {', '.join(missing)}, which the {profile.id} profile does not "
            "have: the device refuses it"
        )


async def simulate(
    compiled: dict[str, Any],
    main_id: str | None,
    scenario: SimScenario,
    profile: DeviceProfile,
    out: Path,
    *,
    skills: dict[str, Skill],
    llm: LlmProvider | None = None,
    router: Any = None,
    speak_audio: bool = True,
    on_trace: Any = None,
    draw_frames: bool = True,
    wearer: str = "local",
) -> Simulation:
    """Play `scenario` starting on flow `main_id` (None: idle, the wearer's words choose); the other compiled
    flows answer call/link and what is said. `draw_frames` False logs HUD frames without drawing them (flow
    tests whose output is thrown away); `wearer` is whose data the run reads and writes (captures, payment
    journal, transcripts)."""
    box: dict[str, AssistantSession] = {}
    permissions = (
        compiled[main_id].flow.permissions if main_id else {p for c in compiled.values() for p in c.flow.permissions}
    )
    device = SimulatedDevice(
        profile,
        out,
        frozenset(permissions),
        speak_audio=speak_audio,
        draw_frames=draw_frames,
        wearer=wearer,
        now=lambda: box["session"].clock.now(),
        schedule=lambda when, cb: box["session"].clock.call_at(when, cb),
    )
    host = SessionHost(
        compiled,
        SqliteSessionStore(":memory:"),
        router or OfflineRouter([c.flow for c in compiled.values()]),
        skills=skills,
        llm=llm,
        virtual=True,
        device={"profile": profile.id, "display": profile.hud is not None},
        on_trace=on_trace,
        trace_kept=MAX_SIMULATION_TRACE,
    )
    session = host.create(wearer, device="simulator", profile=profile.id)
    session.link = PortsLink(device)
    box["session"] = session
    for at, image in scenario.images:
        if at == 0:
            device.next_images.append(image)  # what the camera sees from the start
        else:
            session.clock.call_at(at, lambda p=image: device.next_images.append(p))
    if main_id is not None:
        await session.start(main_id, scenario.slots)
    for event in scenario.events:
        await session.advance(event.at_ms)
        await session.device_event(event.name, event.data)
    await session.advance(scenario.until_ms)
    device.flush_hud()
    return Simulation(session, device)
