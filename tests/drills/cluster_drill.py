"""The cluster kill drill: hundreds of wearers on gateways and workers while processes are SIGKILLed.

Wearers are reference device clients on the gateways of a `LocalCluster`: navigation
(walking the bundled GPX track), translation (a sentence a second), the teleprompter
(some scrolling on its 1 s timer) and glance-to-pay (a QR photo of their own amount,
confirmed by voice, charged on a local Alipay gateway). A share of them is active at
one event a second; meanwhile workers and a gateway die by SIGKILL at random moments,
and a wearer whose gateway died reconnects to another one. At the end every session is
audited against its workflow (`SessionWorkflow.audit`): every event the device sent
applied once, every command carried out once and in order, and the digest of the
commands the device carried out equal to the digest of those its own session made.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from websockets.exceptions import ConnectionClosed

from backends.cluster.local import LocalCluster
from backends.temporal.delivery import fold
from backends.temporal.workflow import SessionWorkflow
from devices.bridge.client import DeviceClient
from engine.language.catalog import load_catalog
from tests.support import ROOT

QUARK = load_catalog().named_profile("quark-display")
SCRIPT = " ".join(f"Sentence {n} of the keynote tells the audience about glasses." for n in range(1, 60))
FAILOVER_S = 10.0  # a timer pending from a worker's death until this long after counts as across the failover
CONNECTS_AT_ONCE = 8
RECONNECT_JITTER_S = 1.0  # a device waits up to this long before it says hello again
RECONNECT_ATTEMPTS = 5
AUDIT_TRIES = 30  # seconds a session may take to answer its audit once the wearers stop


@dataclass
class DrillPlan:
    sessions: int = 300
    active: int = 24  # wearers sending an event a second
    scrolling: int = 4  # teleprompters scrolling on their 1 s timer
    payers: int = 12
    seconds: float = 60.0  # how long the active wearers go on
    worker_kills: int = 2
    gateway_kills: int = 1
    seed: int = 7


@dataclass
class DrillReport:
    sessions: int = 0
    events: int = 0
    lost: int = 0
    doubled: int = 0
    misdelivered: int = 0
    charges_per_key: int = 0
    untold: int = 0
    timer_p99_ms: int = 0
    failover_timer_p99_ms: int = 0
    active_since: float = 0.0  # when the wearers began their events (the kill moments count from it)
    hud_restore_p99_ms: int = 0
    kills: list[tuple[float, str]] = field(default_factory=list)
    late_timers: list[tuple[float, int, str]] = field(default_factory=list)  # (due, lateness, kind) over 1 s
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"drill: sessions={self.sessions} events={self.events} lost={self.lost} doubled={self.doubled} "
            f"misdelivered={self.misdelivered} charges_per_key={self.charges_per_key} untold={self.untold} "
            f"timer_p99_ms={self.timer_p99_ms} failover_timer_p99_ms={self.failover_timer_p99_ms} "
            f"hud_restore_p99_ms={self.hud_restore_p99_ms}"
        )


class DrillClient(DeviceClient):
    """A device that also folds what it carries out, and notes a command number that came with other content."""

    digest: str = ""
    clashes: int = 0
    sent: int = 0

    async def _on_command(self, command: dict[str, Any]) -> None:
        seq = command["seq"]
        if seq <= self.last_command:
            done = next((c for c in reversed(self.commands) if c["seq"] == seq), None)
            if done is not None and _content(done) != _content(command):
                self.clashes += 1  # the same number with other content: someone else's command, or made twice
        else:
            self.digest = fold(self.digest, command)
        await super()._on_command(command)

    async def send_event(self, name: str, data: dict[str, Any] | None = None) -> int:
        self.sent += 1
        return await super().send_event(name, data)


def _content(command: dict[str, Any]) -> tuple[Any, ...]:
    return command["action"], command.get("args"), command.get("file")


@dataclass
class Wearer:
    number: int
    kind: str
    client: DrillClient
    active: bool
    amount: str = ""
    restores_ms: list[float] = field(default_factory=list)

    @property
    def flow(self) -> tuple[str, dict[str, Any]]:
        if self.kind == "navigate":
            return "navigate", {"destination": "railway station"}
        if self.kind == "translate":
            return "translate", {"target_lang": "ja"}
        if self.kind == "teleprompter":
            return "teleprompter", {"script": SCRIPT, "speed": 120 if self.active else 0}
        return "glance_pay", {}


def _walk() -> list[tuple[float, float]]:
    tree = ET.parse(ROOT / "docs" / "examples" / "walk.gpx")
    points = [(float(p.get("lat", 0)), float(p.get("lon", 0))) for p in tree.iter() if p.tag.endswith("trkpt")]
    return points[: len(points) // 2]  # half the way: the walk goes on for the whole drill


class Drill:
    def __init__(self, cluster: LocalCluster, plan: DrillPlan, photos: Path) -> None:
        self.cluster = cluster
        self.plan = plan
        self.rng = random.Random(plan.seed)
        self.urls = cluster.gateway_urls
        self.dead: set[str] = set()
        self.report = DrillReport(sessions=plan.sessions)
        self.walk = _walk()
        self.wearers = self._wearers(photos)

    def _wearers(self, photos: Path) -> list[Wearer]:
        from tests.support.photos import qr_png

        plan = self.plan
        wearers: list[Wearer] = []
        kinds = ["navigate", "translate", "teleprompter"]
        for number in range(plan.sessions):
            kind = "glance_pay" if number < plan.payers else kinds[number % 3]
            if kind == "teleprompter":
                active = sum(w.kind == "teleprompter" and w.active for w in wearers) < plan.scrolling
            else:
                active = kind != "glance_pay" and sum(w.active for w in wearers) < plan.active + plan.scrolling
            url = self.urls[number % len(self.urls)]
            amount, shots = "", []
            if kind == "glance_pay":
                amount = f"{number + 1}.{number % 9 + 1}1"  # cents that never end in 0: said as written
                text = f"https://qr.alipay.com/fkx{number}?merchant=Shop%20{number}&amount={amount}"
                shots = [qr_png(photos / f"qr-{number}.png", text)]
            client = DrillClient(url, f"glasses-{number}", QUARK, photos=shots, conformance=False)
            wearers.append(Wearer(number, kind, client, active, amount))
        return wearers

    # -- the run ----------------------------------------------------------------------------------
    async def run(self) -> DrillReport:
        gate = asyncio.Semaphore(CONNECTS_AT_ONCE)
        self.t0 = time.time()
        await asyncio.gather(*(self._begin(w, gate) for w in self.wearers))
        started = time.monotonic()
        self.report.active_since = time.time()
        killer = asyncio.ensure_future(self._kill_at_random(started))
        await asyncio.gather(*(self._live(w, started) for w in self.wearers))
        await killer
        for wearer in self.wearers:  # scrolling stops, so every session comes to rest
            if wearer.kind == "teleprompter" and wearer.active:
                await wearer.client.send_event("gesture.tap")
        await self._settle()
        await self._audit()
        return self.report

    async def _begin(self, wearer: Wearer, gate: asyncio.Semaphore) -> None:
        async with gate:
            flow, slots = wearer.flow
            await wearer.client.connect(flow=flow, slots=slots)

    async def _kill_at_random(self, started: float) -> None:
        plan = self.plan
        names = [f"worker-{n}" for n in range(1, plan.worker_kills + 1)]
        names += [f"gateway-{n}" for n in range(1, plan.gateway_kills + 1)]
        moments = sorted(self.rng.uniform(0.15, 0.8) * plan.seconds for _ in names)
        self.rng.shuffle(names)
        for moment, name in zip(moments, names, strict=True):
            await asyncio.sleep(max(0.0, started + moment - time.monotonic()))
            await asyncio.to_thread(self.cluster.kill, name)
            self.report.kills.append((time.time(), name))
            if name.startswith("gateway"):
                self.dead.add(self.cluster.gateway_urls[int(name.split("-")[1]) - 1])

    async def _live(self, wearer: Wearer, started: float) -> None:
        tick = 0
        while time.monotonic() - started < self.plan.seconds:
            await self._keep_linked(wearer)
            if wearer.kind == "glance_pay":
                await self._pay_step(wearer)
            elif wearer.active:
                await self._act(wearer, tick)
            tick += 1
            await asyncio.sleep(1.0)
        await self._keep_linked(wearer)

    async def _keep_linked(self, wearer: Wearer) -> None:
        """A wearer whose gateway died comes back through a living one, after a short random pause as
        devices do (not all at once); how long from its hello until the HUD is redrawn."""
        client = wearer.client
        for attempt in range(RECONNECT_ATTEMPTS):
            if client.connected:
                return
            await asyncio.sleep(self.rng.uniform(0.0, RECONNECT_JITTER_S))
            live = [url for url in self.urls if url not in self.dead]
            client.url = live[(wearer.number + attempt) % len(live)]
            seen = len(client.received)
            began = time.monotonic()
            try:
                await client.connect()
                redrawn = lambda c, seen=seen: any(m.get("type") == "hud" for m in c.received[seen:])  # noqa: E731
                await client.wait_for(redrawn, timeout=10)
            except (OSError, TimeoutError, ConnectionClosed) as exc:
                wearer.restores_ms.append((time.monotonic() - began) * 1000)
                self.report.problems.append(f"wearer {wearer.number}: reconnect {attempt + 1} failed ({exc!r})")
                await client.drop()
                continue
            wearer.restores_ms.append((time.monotonic() - began) * 1000)
            return

    async def _act(self, wearer: Wearer, tick: int) -> None:
        client = wearer.client
        if wearer.kind == "navigate":
            lat, lon = self.walk[tick % len(self.walk)]
            await client.send_event("location.update", {"lat": lat, "lng": lon, "accuracy": 5})
        elif wearer.kind == "translate":
            await client.say(f"wearer {wearer.number} says sentence {tick}", lang="zh")
        else:
            await client.send_event("gesture.swipe_down" if tick % 4 == 3 else "gesture.swipe_up")  # pages

    async def _pay_step(self, wearer: Wearer) -> None:
        client = wearer.client
        if client.sent == 0 and any(f"Pay {wearer.amount} to" in p for p in client.prompts):
            await client.say("yes")  # once: the confirm is answered by voice

    async def _settle(self) -> None:
        """Until every device has every command its session made and every payer was told how its payment
        went (or 60 s): on a loaded cluster a payer's prompt may come after the active minute."""
        deadline = time.monotonic() + 60
        pending = list(self.wearers)
        client = await Client.connect(self.cluster.temporal_address)
        while pending and time.monotonic() < deadline:
            waiting = []
            for wearer in pending:
                await self._keep_linked(wearer)
                if wearer.kind == "glance_pay":
                    await self._pay_step(wearer)  # a prompt that came late is answered, as a wearer would
                about = await _audit_of(client, wearer)
                unpaid = wearer.kind == "glance_pay" and not any("paid" in s.lower() for s in wearer.client.spoken)
                if wearer.client.unacked or wearer.client.last_command < about["last_command"] or unpaid:
                    waiting.append(wearer)
            pending = waiting
            if pending:
                await asyncio.sleep(0.5)

    async def _audit(self) -> None:
        report = self.report
        client = await Client.connect(self.cluster.temporal_address)
        timers: list[float] = []
        failover: list[float] = []
        restores: list[float] = []
        worker_kills = [at for at, name in report.kills if name.startswith("worker")]
        for wearer in self.wearers:
            device, about = wearer.client, await _audit_of(client, wearer)
            for _ in range(20):  # a timer may have made a command just now: a moment for it to arrive
                if device.last_command >= about["last_command"] and not device.unacked:
                    break
                await asyncio.sleep(0.25)
                about = await _audit_of(client, wearer)
            report.events += device.sent
            lost = max(0, device.sent - about["last_event"]) + len(device.unacked)
            seqs = [c["seq"] for c in device.commands]
            missing = about["last_command"] - len(set(seqs))
            doubled = len(seqs) - len(set(seqs)) + max(0, -missing)
            misdelivered = device.clashes + (device.digest != about["digest"] and missing == 0)
            report.lost += lost + max(0, missing)
            report.doubled += doubled
            report.misdelivered += misdelivered
            if lost or missing or doubled or misdelivered:
                report.problems.append(
                    f"wearer {wearer.number} ({wearer.kind}): sent {device.sent} events, {about['last_event']} "
                    f"applied, {len(device.unacked)} unacknowledged; carried out {len(set(seqs))} of "
                    f"{about['last_command']} commands; digest {'equal' if not misdelivered else 'differs'}"
                )
            restores += wearer.restores_ms
            for due_ms, late_ms in await _timer_lateness(client, str(device.session)):
                due, fired = due_ms / 1000, (due_ms + late_ms) / 1000  # pending while a worker died or took over:
                across = any(due <= kill + FAILOVER_S and fired >= kill for kill in worker_kills)
                (failover if across else timers).append(late_ms)
                if late_ms >= 1000:
                    report.late_timers.append((due_ms / 1000, late_ms, wearer.kind))
        report.timer_p99_ms = _p99(timers)
        report.failover_timer_p99_ms = _p99(failover)
        report.hud_restore_p99_ms = _p99(restores)


async def _audit_of(client: Client, wearer: Wearer) -> dict[str, Any]:
    """The session's audit; a session whose step is being retried (a worker died or was slow) answers no query
    until another worker has taken the step, so it is asked again for a while rather than failing the drill."""
    handle = client.get_workflow_handle(str(wearer.client.session))
    for attempt in range(AUDIT_TRIES):
        try:
            return dict(await handle.query(SessionWorkflow.audit))
        except RPCError as exc:
            if exc.status != RPCStatusCode.FAILED_PRECONDITION or attempt == AUDIT_TRIES - 1:
                raise
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


async def _timer_lateness(client: Client, session_id: str) -> list[tuple[int, int]]:
    """(due, lateness) in ms of every flow timer that fired in the session, read from its histories (each run):
    due is when the step that set it began plus its delay (the flow's own clock), and it was acted on when
    the next step after it fired began. A replay on another worker may group steps differently; the history
    does not change."""
    found = []
    async for run in client.list_workflows(f"WorkflowId = '{session_id}'"):
        history = await client.get_workflow_handle(session_id, run_id=run.run_id).fetch_history()
        by_id = {event.event_id: event for event in history.events}
        began = {
            e.event_id: _ms(e) for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
        }
        due: dict[str, int] = {}
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
                started = event.timer_started_event_attributes
                completed = by_id[started.workflow_task_completed_event_id].workflow_task_completed_event_attributes
                delay = started.start_to_fire_timeout.ToMilliseconds()
                due[started.timer_id] = began[completed.started_event_id] + delay
            elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
                timer = event.timer_fired_event_attributes.timer_id
                acted = next((ms for number, ms in began.items() if number > event.event_id), None)
                if timer in due and acted is not None:
                    found.append((due[timer], acted - due[timer]))
    return found


def _ms(event: Any) -> int:
    return int(event.event_time.ToMilliseconds())


def _p99(values: list[float]) -> int:
    if not values:
        return 0
    ordered = sorted(values)
    return int(ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)])


def tell_payments(drill: Drill, paid: list[Any]) -> None:
    """Charges per key and untold outcomes, from the payment gateway's own trade table."""
    report = drill.report
    payers = [w for w in drill.wearers if w.kind == "glance_pay"]
    per_amount: dict[str, int] = {}
    for trade in paid:
        key = f"{trade.amount:.2f}"
        per_amount[key] = per_amount.get(key, 0) + 1
    report.charges_per_key = max(per_amount.values(), default=0)
    for wearer in payers:
        told = [s for s in wearer.client.spoken if "paid" in s.lower()]
        if per_amount.get(wearer.amount, 0) != 1:
            report.problems.append(f"payer {wearer.number}: {per_amount.get(wearer.amount, 0)} charges")
        if len(told) != 1 or wearer.amount not in told[0]:
            report.untold += 1
            report.problems.append(f"payer {wearer.number} was told {told}")
