"""One scenario played on the simulated glasses: what `simulate` and flow tests share.

The runner drives the flow on the virtual clock; the scenario's events arrive at
their times and what the camera sees is queued for it. The result keeps the
runtime trace and the device log apart, and merges them in time order for the
files and assertions that want one story.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devices.sim.scenario import SimScenario
from devices.sim.simulator import SimulatedDevice
from engine.errors import UserError
from engine.language.catalog import DeviceProfile
from engine.runtime.runner import LlmProvider, Runner, Skill

__all__ = ["ProfileRefused", "Simulation", "check_profile", "phrase_recognizer", "simulate"]


@dataclass
class Simulation:
    runner: Runner
    device: SimulatedDevice

    def entries(self) -> list[dict[str, Any]]:
        """The runtime trace and the device log as one list, in time order."""
        return sorted(self.runner.trace + self.device.log, key=lambda e: e.get("t", 0))

    def write_trace(self, out: Path) -> None:
        import json

        with (out / "trace.jsonl").open("w", encoding="utf-8") as handle:
            for entry in self.entries():
                handle.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")


def phrase_recognizer(compiled: dict[str, Any]) -> Any:
    """A WAV-to-text function for scenarios, tuned to the flows' phrases; pocketsphinx loads on first use."""
    recognizer: Any = None

    def recognise(path: Path) -> str:
        nonlocal recognizer
        if recognizer is None:
            from devices.audio.asr import Recognizer

            phrases = [p for c in compiled.values() for p in c.flow.phrases]
            phrases += [str(v) for c in compiled.values() for slot in c.flow.slots.values() for v in slot.values or ()]
            recognizer = Recognizer(phrases)
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
    main_id: str,
    scenario: SimScenario,
    profile: DeviceProfile,
    out: Path,
    *,
    skills: dict[str, Skill],
    llm: LlmProvider | None = None,
    speak_audio: bool = True,
    on_trace: Any = None,
    draw_frames: bool = True,
    wearer: str = "local",
) -> Simulation:
    """Play `scenario` against flow `main_id` (the other compiled flows answer call/link); `draw_frames`
    False logs HUD frames without drawing them (flow tests whose output is thrown away); `wearer` is whose data
    the run reads and writes (captures, payment journal, transcripts)."""
    box: dict[str, Runner] = {}
    device = SimulatedDevice(
        profile,
        out,
        frozenset(compiled[main_id].flow.permissions),
        speak_audio=speak_audio,
        draw_frames=draw_frames,
        wearer=wearer,
        now=lambda: box["runner"].clock.now(),
        schedule=lambda when, cb: box["runner"].clock.call_at(when, cb),
    )
    runner = Runner(
        compiled,
        skills=skills,
        llm=llm,
        ports=device,
        on_trace=on_trace,
        device={"profile": profile.id, "display": profile.hud is not None},
        wearer=wearer,
    )
    box["runner"] = runner
    for at, image in scenario.images:
        if at == 0:
            device.next_images.append(image)  # what the camera sees from the start
        else:
            runner.clock.call_at(at, lambda p=image: device.next_images.append(p))
    await runner.start(main_id, scenario.slots)
    for event in scenario.events:
        await runner.run_until(event.at_ms)
        await runner.send(event.name, event.data)
    await runner.run_until(scenario.until_ms)
    device.flush_hud()
    return Simulation(runner, device)
