"""Stateless gateways: the bridge with every session a workflow, against a dev server and worker subprocesses.

The reference device client drives the fixture reminder flow (a card, taps, a skill
answering after its event, a 3 s timer) through one gateway, then reconnects to
another: what the timer and the skill made between events reaches the device through
the gateway holding it, in order and once, and the second gateway carries on.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from backends.temporal.gateway import RemoteHost
from backends.temporal.workflow import SessionWorkflow
from devices.bridge.client import DeviceClient
from devices.bridge.server import BridgeServer, owner_digest
from engine.language.catalog import load_catalog
from engine.runnable import load_all_runnable
from tests.support.bridge import refused
from tests.support.servers.openai_compat import OpenAICompatServer
from tests.support.servers.temporal import TemporalServer, WorkerPool
from tests.support.temporal_skills import FLOWS

QUARK = load_catalog().named_profile("quark-display")


async def _gateway(server: TemporalServer, queue: str) -> tuple[BridgeServer, Any, str]:
    flows = load_all_runnable(FLOWS)[0]
    host = await RemoteHost.connect(server.address, "default", queue)
    bridge = BridgeServer(flows, host=host)
    listening = await bridge.start("127.0.0.1", 0)
    return bridge, listening, f"ws://127.0.0.1:{listening.sockets[0].getsockname()[1]}"


async def _stop(bridge: BridgeServer, listening: Any) -> None:
    listening.close()
    await listening.wait_closed()
    bridge.close()
    await bridge.host.aclose()


def _titles(client: DeviceClient) -> list[str]:
    return [str(c["args"].get("title") or c["args"].get("text")) for c in client.commands]


def test_timer_and_skill_commands_reach_the_device_through_its_gateway_and_another_gateway_carries_on(
    temporal_server: TemporalServer, workers: WorkerPool
) -> None:
    async def scenario() -> tuple[DeviceClient, dict[str, Any], dict[str, Any]]:
        workers()
        first, first_listening, first_url = await _gateway(temporal_server, workers.queue)
        second, second_listening, second_url = await _gateway(temporal_server, workers.queue)
        try:
            client = DeviceClient(first_url, "glasses-1", QUARK)
            welcome = await client.connect(flow="reminder")
            assert welcome["resumed"] is False
            await client.wait_for(lambda c: _titles(c) == ["Ready"], timeout=10)
            await client.send_event("gesture.tap")
            await client.send_event("gesture.swipe_up")  # the skill answers after this event's update
            await client.wait_for(lambda c: "Noted" in _titles(c), timeout=10)
            await client.wait_for(lambda c: "Reminder" in _titles(c), timeout=10)  # the 3 s flow timer
            await client.acked()
            await client.drop()
            # another device cannot have the session through the other gateway
            stranger = {"type": "hello", "device": "glasses-2", "session": client.session, "last_command": 0}
            error, _ = await refused(second_url, stranger)
            assert error["code"] == "SESSION_REFUSED"
            client.url = second_url
            resumed = await client.connect()
            redraw = await _next_hud(client)
            await client.send_event("gesture.swipe_down")
            await client.acked()
            handle = second.host.client.get_workflow_handle(str(client.session))
            state = await handle.query(SessionWorkflow.state)  # the flow finished; the session stays, idle
            return client, resumed, {"redraw": redraw, "result": state["snapshot"]["stack"][0]["session"]}
        finally:
            await _stop(first, first_listening)
            await _stop(second, second_listening)

    client, resumed, seen = asyncio.run(asyncio.wait_for(scenario(), timeout=90))
    assert _titles(client) == ["Ready", "tap", "Noted", "Reminder"]  # in order, each once
    assert [c["seq"] for c in client.commands] == [1, 2, 3, 4]
    assert resumed["resumed"] is True and resumed["last_event"] == 2 and resumed["last_command"] == 4
    assert "Reminder" in seen["redraw"]["frame"]["lines"][0]  # the display as it is, laid out for the profile
    assert seen["result"]["final"] == "finished"
    assert client.errors == []


async def _next_hud(client: DeviceClient) -> dict[str, Any]:
    """The `hud` redraw a resumed device gets after what it missed."""
    await client.wait_for(lambda c: any(m.get("type") == "hud" for m in c.received), timeout=10)
    return next(m for m in client.received if m.get("type") == "hud")


def test_a_command_made_between_events_is_kept_for_a_device_whose_gateway_is_gone(
    temporal_server: TemporalServer, workers: WorkerPool
) -> None:
    """The gateway holding the wearer stops taking deliveries: the timer's card waits in the tail."""

    async def scenario() -> tuple[DeviceClient, dict[str, Any]]:
        workers()
        first, first_listening, first_url = await _gateway(temporal_server, workers.queue)
        client = DeviceClient(first_url, "glasses-1", QUARK)
        await client.connect(flow="reminder")
        await client.send_event("gesture.swipe_up")
        await client.wait_for(lambda c: "Noted" in _titles(c), timeout=10)
        await client.acked()
        first_listening.close()
        if first.host._worker is not None:  # the gateway dies: no more deliveries taken
            await first.host._worker.shutdown()
        await client.drop()
        handle = first.host.client.get_workflow_handle(str(client.session))
        for _ in range(200):  # the reminder is made, and waits for a gateway
            tail = await handle.query(SessionWorkflow.commands_after, 0)
            if any(c["args"].get("title") == "Reminder" for c in tail["commands"]):
                break
            await asyncio.sleep(0.05)
        second, second_listening, second_url = await _gateway(temporal_server, workers.queue)
        try:
            client.url = second_url
            resumed = await client.connect()
            await client.wait_for(lambda c: "Reminder" in _titles(c), timeout=10)
            return client, resumed
        finally:
            await _stop(second, second_listening)

    client, resumed = asyncio.run(asyncio.wait_for(scenario(), timeout=90))
    assert resumed["resumed"] is True
    assert _titles(client) == ["Ready", "Noted", "Reminder"]
    assert [c["seq"] for c in client.commands] == [1, 2, 3]


def test_a_session_nobody_touches_for_its_keep_time_ends_and_its_device_is_told_it_is_unknown(
    temporal_server: TemporalServer, workers: WorkerPool
) -> None:
    """As the embedded store forgets a session untouched for KEEP_DAYS, its workflow ends itself: a flow
    still running stops, and a hello naming the session is refused. An event or a reconnect is a touch."""
    keep_s = 3.0

    async def gateway() -> tuple[BridgeServer, Any, str]:
        flows = load_all_runnable(FLOWS)[0]
        host = await RemoteHost.connect(temporal_server.address, "default", workers.queue, keep_s=keep_s)
        bridge = BridgeServer(flows, host=host)
        listening = await bridge.start("127.0.0.1", 0)
        return bridge, listening, f"ws://127.0.0.1:{listening.sockets[0].getsockname()[1]}"

    async def scenario() -> tuple[float, dict[str, Any], dict[str, Any], dict[str, Any]]:
        workers()
        # each gateway holds a session in memory a while after its link went: each step uses a fresh one
        gateways = [await gateway() for _ in range(3)]
        try:
            client = DeviceClient(gateways[0][2], "glasses-1", QUARK)
            await client.connect(flow="reminder")
            await client.send_event("gesture.tap")
            await client.acked()
            await client.drop()
            await asyncio.sleep(keep_s - 1)  # not long enough: the reconnect finds it, and touches it
            client.url = gateways[1][2]
            resumed = await client.connect()
            left = time.monotonic()
            await client.drop()
            handle = gateways[0][0].host.client.get_workflow_handle(str(client.session))
            for _ in range(300):
                if (await handle.query(SessionWorkflow.describe))["expired"]:
                    break
                await asyncio.sleep(0.05)
            untouched = time.monotonic() - left
            result = await handle.result() | {"state": await handle.query(SessionWorkflow.state)}
            error, _ = await refused(
                gateways[2][2], {"type": "hello", "device": "glasses-1", "session": client.session}
            )
            return untouched, resumed, result, error
        finally:
            for bridge, listening, _ in gateways:
                await _stop(bridge, listening)

    untouched, resumed, result, error = asyncio.run(asyncio.wait_for(scenario(), timeout=60))
    assert resumed["resumed"] is True  # within its keep time
    assert keep_s - 0.5 <= untouched <= keep_s + 3  # ended about `keep_s` after its last touch, not before
    assert result["expired"] is True
    assert result["final"] is None and result["state"]["done"] is True  # the reminder flow was halted, not finished
    assert error["code"] == "UNKNOWN_SESSION"


def test_words_a_worker_was_routing_when_killed_start_their_flow_once_with_no_error_to_the_device(
    temporal_server: TemporalServer, workers: WorkerPool
) -> None:
    """Routing is a local activity: a worker killed while Qwen is still answering has recorded nothing.
    The server refuses the event meanwhile ("Workflow Task in failed state"); the gateway sends it again
    until the next worker takes the session, routes the words again and starts the flow, once."""
    qwen = OpenAICompatServer(repeat=True).start()
    model = {
        "LENSFLOW_LLM_BASE_URL": qwen.base_url,
        "LENSFLOW_LLM_MODEL": "qwen-plus",
        "LENSFLOW_LLM_API_KEY_ENV": "LENSFLOW_TEST_NO_KEY",
        "LENSFLOW_LLM_RETRIES": "0",
    }
    qwen.reply(tool_calls=[("start_reminder", {})], delay=2.0)  # slow: the worker dies meanwhile

    async def scenario() -> DeviceClient:
        first = workers(model, ["--model", "env"])
        bridge, listening, url = await _gateway(temporal_server, workers.queue)
        try:
            client = DeviceClient(url, "glasses-1", QUARK)
            await client.connect()  # no flow: the session starts idle, on the wearer's words
            await client.say("could you nudge me later")
            for _ in range(300):  # Qwen has the words: routing is under way on the first worker
                if qwen.requests:
                    break
                await asyncio.sleep(0.02)
            first.kill()
            workers(model, ["--model", "env"])
            await client.wait_for(lambda c: "Ready" in _titles(c), timeout=30)
            await client.acked()
            return client
        finally:
            await _stop(bridge, listening)

    try:
        client = asyncio.run(asyncio.wait_for(scenario(), timeout=90))
    finally:
        qwen.stop()
    assert len(qwen.requests) == 2  # asked again by the next worker: the first one's answer was never recorded
    assert _titles(client) == ["Ready"] and [c["seq"] for c in client.commands] == [1]  # the flow started once
    assert client.errors == []  # the device never heard the failed step


def test_a_first_step_slower_than_one_update_rpc_is_waited_for_not_given_up(
    temporal_server: TemporalServer, workers: WorkerPool
) -> None:
    """Under load a session's first step can wait longer than an update RPC. Its workflow is started and
    will run: the gateway sends the update again. It once reported "flow failed to start" and ended the
    workflow before any worker took it, so every later query of that session failed."""

    async def scenario() -> tuple[list[str], Any]:
        flows = load_all_runnable(FLOWS)[0]
        host = await RemoteHost.connect(
            temporal_server.address, "default", workers.queue, update_timeout=timedelta(seconds=1)
        )
        bridge = BridgeServer(flows, host=host)
        listening = await bridge.start("127.0.0.1", 0)
        try:
            client = DeviceClient(f"ws://127.0.0.1:{listening.sockets[0].getsockname()[1]}", "glasses-1", QUARK)
            connecting = asyncio.ensure_future(client.connect(flow="reminder"))
            await asyncio.sleep(3.5)  # no worker yet: the first step waits past three update RPCs
            assert not connecting.done() or connecting.exception() is None, connecting.exception()
            workers()
            await connecting
            await client.wait_for(lambda c: _titles(c) == ["Ready"], timeout=30)
            description = await host.client.get_workflow_handle(str(client.session)).describe()
            return _titles(client), description.status
        finally:
            await _stop(bridge, listening)

    titles, status = asyncio.run(asyncio.wait_for(scenario(), timeout=90))
    assert titles == ["Ready"]
    assert status is not None and status.name == "RUNNING"


def test_whether_a_device_may_resume_is_answered_with_no_worker_running(
    temporal_server: TemporalServer, workers: WorkerPool
) -> None:
    """A device coming back is checked against its session's memo, which Temporal's server answers itself:
    with the session's worker just killed, the check does not wait for another worker to take a step (it
    used to be a query, the first of two steps a reconnect waited for). How far the session went comes
    with the attach that follows."""

    async def scenario() -> tuple[Any, Any, Any, int]:
        first = workers()
        bridge, listening, url = await _gateway(temporal_server, workers.queue)
        try:
            client = DeviceClient(url, "glasses-1", QUARK)
            await client.connect(flow="reminder")
            await client.wait_for(lambda c: _titles(c) == ["Ready"], timeout=10)
            await client.send_event("gesture.tap")
            await client.acked()
            carried_out = client.last_command
            await client.drop()
            first.kill()
            record = await asyncio.wait_for(bridge.host.record(str(client.session)), timeout=2.0)
            unknown = await asyncio.wait_for(bridge.host.record("no-such-session"), timeout=2.0)
            workers()
            client.url = url
            bridge.host.live.clear()  # as a gateway that never held it: the session is restored, not found live
            bridge.sessions.clear()
            claimed = {"type": "hello", "device": "glasses-1", "session": client.session, "last_command": 99}
            too_far, _ = await refused(url, claimed)  # checked after the attach: the memo does not say
            assert too_far["code"] == "BAD_HELLO", too_far
            welcome = await client.connect()
            return record, unknown, welcome, carried_out
        finally:
            await _stop(bridge, listening)

    record, unknown, welcome, carried_out = asyncio.run(asyncio.wait_for(scenario(), timeout=90))
    assert (record.wearer, record.device, record.profile) == ("glasses-1", "glasses-1", QUARK.id)
    assert record.owner == owner_digest(None)  # no token on this loopback gateway: what the store keeps of none
    assert unknown is None
    assert welcome["resumed"] is True
    assert carried_out >= 2  # the card and what the tap made
    assert (welcome["last_event"], welcome["last_command"]) == (1, carried_out)  # from the attach
