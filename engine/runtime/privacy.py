"""The privacy LED of one device: on exactly while any capture runs, whoever started it.

A flow never drives the LED (`led.privacy` is no flow action); the engine does,
in two parts:

* the step decides, as a pure function of the flow's own captures (`led_wanted`),
  whether this flow needs the light, and says so with a `SetLed` effect when the
  answer changes (around a photo it is on for the photo alone);
* the runner keeps one `PrivacyLed` per device, which counts the flows that need
  it: a meeting's microphone and a photo taken by another flow on the same glasses
  are two holders, and the photo ending does not turn the light off while the
  microphone still records. Holders are keyed by the flow run (`Session.run`), so
  flows on a call stack and flows replaced by the assistant are counted apart.

    led = PrivacyLed()
    led.hold("run-a", True)    # -> True: turn the LED on
    led.hold("run-b", True)    # -> None: already on
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Any, cast

__all__ = [
    "CAPTURE_START",
    "CAPTURE_STOP",
    "STOP_ACTION",
    "PrivacyLed",
    "led_wanted",
    "privacy_violations",
    "step_violations",
]

CAPTURE_START = {"mic.start": "mic", "camera.record_start": "camera"}
CAPTURE_STOP = {"mic.stop": "mic", "camera.record_stop": "camera"}
STOP_ACTION = {"mic": "mic.stop", "camera": "camera.record_stop"}
_NO_HOLDERS = cast("dict[str, set[str]]", MappingProxyType({}))  # most devices never capture: no dict for them


def led_wanted(captures: Iterable[str] | None, photo: bool = False) -> bool:
    """Whether a flow needs the privacy LED: some capture of it runs, or it is taking a photo now."""
    return photo or any(True for _ in captures or ())


class PrivacyLed:
    """The device-wide light: on while at least one flow run holds it (the runner's, never the step's)."""

    __slots__ = ("holders", "lit")  # one per runner, idle most of the time

    def __init__(self) -> None:
        # the runs holding it: a tuple, as one or two runs hold it at most (an empty set costs 216 bytes)
        self.holders: tuple[str, ...] = ()
        self.lit = False

    @property
    def capturing(self) -> bool:
        return bool(self.holders)

    def hold(self, run: str, on: bool) -> bool | None:
        """Flow run `run` does (on) or no longer does need the light; the LED's new state if it changed."""
        if on:
            self._add(run)
        elif run in self.holders:
            self.holders = tuple(held for held in self.holders if held != run)
        want = self.capturing
        if want == self.lit:
            return None
        self.lit = want
        return want

    def adopt(self, run: str, captures: Iterable[str] | None) -> None:
        """A restored session's captures: still running on the device, whose LED is still on."""
        if led_wanted(captures):
            self._add(run)
        self.lit = self.capturing

    def _add(self, run: str) -> None:
        if run not in self.holders:
            self.holders = (*self.holders, run)


def privacy_violations(actions: Iterable[tuple[str, Any]], finished: bool = True) -> list[str]:
    """Where a sequence of device actions captured with the LED off, or ended with a capture running.

    `actions` are (name, args) as a device saw them, `led.privacy` included; with
    `finished`, a capture still running at the end is a violation too. Used to
    check simulate traces and explorations.
    """
    problems: list[str] = []
    running: set[str] = set()
    lit = False
    for index, (name, args) in enumerate(actions):
        if name == "led.privacy":
            lit = bool((args or {}).get("on"))
            if not lit and running:
                problems.append(f"action {index}: LED off while {', '.join(sorted(running))} capture runs")
        elif name in CAPTURE_START:
            running.add(CAPTURE_START[name])
            if not lit:
                problems.append(f"action {index}: {name} with the LED off")
        elif name in CAPTURE_STOP:
            running.discard(CAPTURE_STOP[name])
        elif name == "camera.capture" and not lit:
            problems.append(f"action {index}: camera.capture with the LED off")
    if running and finished:
        problems.append(f"the end: {', '.join(sorted(running))} capture still running")
    return problems


def step_violations(trace: Iterable[dict[str, Any]], captures_before: Iterable[str], finished: bool) -> list[str]:
    """`privacy_violations` for one step's trace, starting from the captures its session had running."""
    running = sorted(captures_before)
    seeded: list[tuple[str, Any]] = [("led.privacy", {"on": bool(running)})]
    seeded += [({"mic": "mic.start", "camera": "camera.record_start"}[port], {}) for port in running]
    for entry in trace:
        if entry.get("kind") == "led":
            seeded.append(("led.privacy", {"on": entry.get("on")}))
        elif entry.get("kind") == "action":
            seeded.append((str(entry.get("name")), entry.get("args")))
    return privacy_violations(seeded, finished)
