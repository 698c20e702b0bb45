"""Who may drive a session over the bridge: its own device (and token), never another client."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from websockets.asyncio.client import connect

from backends.cluster.processes import free_port
from tests.support import ROOT
from tests.support.bridge import receive, refused, start_bridge

TOKEN_A = "device-a-0123456789abcdef"
TOKEN_B = "device-b-0123456789abcdef"


def test_another_client_cannot_resume_a_session_it_did_not_open() -> None:
    async def scenario() -> None:
        bridge, server, url = await start_bridge()
        async with connect(url) as victim:
            await victim.send(json.dumps({"type": "hello", "device": "glasses-1", "flow": "ticker"}))
            welcome = json.loads(await victim.recv())
            session_id = welcome["session"]
            assert len(session_id) >= 20 and session_id not in ("s1", "1")  # not guessable
            # guessing the id of the first session, or knowing it but being another device
            for guess in ({"session": "s1", "device": "glasses-1"}, {"session": session_id, "device": "laptop"}):
                reply, code = await refused(url, {"type": "hello", **guess})
                assert code == 1008 and reply["code"] in ("SESSION_REFUSED", "UNKNOWN_SESSION"), reply
            # the victim's session carries on, driven by the victim only
            await victim.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            await receive(victim, lambda m: m.get("type") == "command" and m["args"]["text"] == "in b")
        assert bridge.sessions[session_id].device == "glasses-1"
        async with connect(url) as other:  # a second device gets a different, unrelated id
            await other.send(json.dumps({"type": "hello", "device": "glasses-2", "flow": "ticker"}))
            assert json.loads(await other.recv())["session"] != session_id
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_with_tokens_a_hello_needs_one_and_a_session_is_bound_to_its_token() -> None:
    async def scenario() -> None:
        _bridge, server, url = await start_bridge(tokens=frozenset({TOKEN_A, TOKEN_B}))
        for hello in (
            {"type": "hello", "device": "g", "flow": "ticker"},
            {"type": "hello", "device": "g", "flow": "ticker", "token": "device-a-0123456789abcdeX"},
            {"type": "hello", "device": "g", "flow": "ticker", "token": "pässwörd-0123456789abcdef"},
        ):
            reply, code = await refused(url, hello)
            assert (reply["code"], code) == ("UNAUTHORIZED", 1008)
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "g", "flow": "ticker", "token": TOKEN_A}))
            session_id = json.loads(await ws.recv())["session"]
            seen = await receive(ws, lambda m: m.get("type") == "command")
        # another valid token, same device id and the real session id: still not its session
        reply, code = await refused(url, {"type": "hello", "device": "g", "session": session_id, "token": TOKEN_B})
        assert (reply["code"], code) == ("SESSION_REFUSED", 1008)
        async with connect(url) as ws:
            resume = {"type": "hello", "device": "g", "session": session_id, "token": TOKEN_A, "last_command": 0}
            await ws.send(json.dumps(resume))
            welcome = json.loads(await ws.recv())
            assert welcome["resumed"] is True
            resent = await receive(ws, lambda m: m.get("type") == "command")
            assert resent[-1]["seq"] == seen[-1]["seq"]
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_forged_engine_events_are_refused_and_not_acknowledged() -> None:
    async def scenario() -> None:
        bridge, server, url = await start_bridge()
        async with connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "device": "g", "flow": "ticker"}))
            session_id = json.loads(await ws.recv())["session"]
            await receive(ws, lambda m: m.get("type") == "command")
            for seq, name in enumerate(
                ("confirm.yes.pay", "done.invoke.pay", "error.invoke.pay", "collect.amount", "after.1s", "confirm"), 1
            ):
                await ws.send(json.dumps({"type": "event", "seq": seq, "name": name, "data": {}}))
                got = await receive(ws, lambda m: m.get("type") in ("error", "ack"))
                assert got[-1] == {**got[-1], "type": "error", "code": "FORGED_EVENT", "seq": seq}, got
            assert bridge.sessions[session_id].last_event == 0
            # the numbers were not used up: a real event with number 1 runs
            await ws.send(json.dumps({"type": "event", "seq": 1, "name": "gesture.tap", "data": {}}))
            got = await receive(ws, lambda m: m.get("type") == "ack")
            assert got[-1]["seq"] == 1
        runner = bridge.sessions[session_id].runner
        assert runner is not None and runner.session.vars["taps"] == 1
        assert not any(e.get("kind") == "refused" for e in runner.trace)  # never reached the engine
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def _serve(*extra: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "LENSFLOW_BRIDGE_TOKENS"}
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--port", "0", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**clean, **(env or {})},
    )


def _one_line_usage_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr.strip()


def test_cli_serve_refuses_a_network_address_without_tokens(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "::", "192.168.1.20", "example.org"):
        message = _one_line_usage_error(_serve("--host", host))
        assert "token" in message and host in message
    bad = tmp_path / "tokens.txt"
    bad.write_text("# the glasses in the lab\nshort\n", encoding="utf-8")
    assert f"{bad}:2" in _one_line_usage_error(_serve("--tokens", str(bad)))
    assert "no such token file" in _one_line_usage_error(_serve("--tokens", str(tmp_path / "missing.txt")))
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n", encoding="utf-8")
    assert "no tokens" in _one_line_usage_error(_serve("--tokens", str(empty)))
    assert "LENSFLOW_BRIDGE_TOKENS" in _one_line_usage_error(_serve(env={"LENSFLOW_BRIDGE_TOKENS": "abc,def"}))
    assert "idle" in _one_line_usage_error(_serve("--idle-minutes", "0"))


def test_cli_serve_with_a_token_file_asks_devices_for_a_token(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"# lab glasses\n{TOKEN_A}   # unit 7\n\n{TOKEN_B}\n", encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(port), "--tokens", str(tokens)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "2 device tokens" in (proc.stdout.readline() if proc.stdout else "")
        url = f"ws://127.0.0.1:{port}"

        async def clients() -> None:
            reply, code = await refused(url, {"type": "hello", "device": "g", "flow": "glance_pay"})
            assert (reply["code"], code) == ("UNAUTHORIZED", 1008)
            async with connect(url) as ws:
                await ws.send(json.dumps({"type": "hello", "device": "g", "flow": "glance_pay", "token": TOKEN_B}))
                assert json.loads(await ws.recv())["type"] == "welcome"

        asyncio.run(clients())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
