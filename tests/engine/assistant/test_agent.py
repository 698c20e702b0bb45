"""The LangGraph turn loop on the session host: routing, confirmation, and sessions that survive a restart."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store import open_session_store
from tests.support import ROOT
from tests.support.assistant import FLOWS, Payments, counting_host
from tests.support.stores import OpenStore


def test_a_payment_waits_for_confirmation_and_resumes_by_voice_or_gesture(
    tmp_path: Path, open_store: OpenStore
) -> None:
    async def scenario(answer: str) -> tuple[dict[str, Any], dict[str, Any], Payments]:
        payments = Payments()
        session = await counting_host(open_store(tmp_path / f"{answer}.sqlite"), payments).session("s1")
        first = await session.say("pay 25 yuan")
        # a gesture is not an utterance: it answers the pending step directly
        second = await (session.answer(answer) if answer.startswith("gesture.") else session.say(answer))
        return first, second, payments

    first, second, payments = asyncio.run(scenario("确认"))
    assert first["route"]["flow"] == "glance_pay" and first["route"]["slots"] == {"amount": 25.0}
    assert first["confirm"] == "Pay 25 to Lucky Noodles?"
    run = second["snapshot"]["stack"][0]["session"]["run"]  # keys are scoped to this run of the flow
    assert payments.charges == [f"{run}:s1:QR-1"]
    assert second["snapshot"]["stack"][0]["session"]["final"] == "paid"
    _, second, payments = asyncio.run(scenario("gesture.tap"))
    run = second["snapshot"]["stack"][0]["session"]["run"]
    assert payments.charges == [f"{run}:s1:QR-1"] and second["snapshot"]["stack"][0]["session"]["final"] == "paid"
    _, second, payments = asyncio.run(scenario("no, cancel"))
    assert payments.charges == [] and second["snapshot"]["stack"][0]["session"]["final"] == "cancelled"


def test_no_flow_fits_gives_an_answer_without_starting_anything(tmp_path: Path, open_store: OpenStore) -> None:
    async def scenario() -> dict[str, Any]:
        host = counting_host(open_store(tmp_path / "a.sqlite"), Payments())
        return await (await host.session("s2")).say("tell me a joke")

    result = asyncio.run(scenario())
    assert result["route"]["command"] == "answer" and not result.get("snapshot")
    assert "offline" in result["replies"][0]


SCRIPT = textwrap.dedent(
    """\
    import asyncio, json, sys
    sys.path.insert(0, {root!r})
    from tests.support.assistant import Payments, counting_host
    from engine.assistant.store_sqlite import SqliteSessionStore

    async def main() -> None:
        payments = Payments()
        host = counting_host(SqliteSessionStore({db!r}), payments)
        result = await (await host.session("kept")).say(sys.argv[1])
        snapshot = result.get("snapshot") or {{"stack": [{{"session": {{}}}}]}}
        final = snapshot["stack"][0]["session"].get("final")
        print(json.dumps({{"confirm": result.get("confirm"), "charges": payments.charges, "final": final}}))

    asyncio.run(main())
    """
)


def test_a_killed_process_resumes_the_session(tmp_path: Path) -> None:
    script = tmp_path / "turn.py"
    script.write_text(SCRIPT.format(root=str(ROOT), db=str(tmp_path / "sessions.sqlite")))
    first = subprocess.run([sys.executable, str(script), "scan to pay"], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    paused = json.loads(first.stdout.splitlines()[-1])
    assert paused["confirm"] and paused["charges"] == []  # stopped at the confirmation, nothing charged
    # the first process is gone; a new one picks the session up where it stopped
    second = subprocess.run([sys.executable, str(script), "yes"], capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout.splitlines()[-1])
    assert result["final"] == "paid" and len(result["charges"]) == 1 and result["charges"][0].endswith(":kept:QR-1")


def test_sessions_in_postgresql_survive_a_restart() -> None:
    from tests.support.servers.postgres import PostgresServer

    server = PostgresServer().start()
    try:
        payments = Payments()

        async def turn(text: str) -> dict[str, Any]:
            host = counting_host(open_session_store(server.url), payments)  # a fresh host each time
            try:
                return await (await host.session("pg-1")).say(text)
            finally:
                host.store.close()

        first = asyncio.run(turn("pay 8 yuan"))
        assert first["confirm"] and payments.charges == []
        second = asyncio.run(turn("yes"))
        assert second["snapshot"]["stack"][0]["session"]["final"] == "paid"
        run = second["snapshot"]["stack"][0]["session"]["run"]  # the run survived the restart with its key
        assert payments.charges == [f"{run}:pg-1:QR-1"]
    finally:
        server.stop()


def test_device_events_take_the_fast_path_without_routing(tmp_path: Path, open_store: OpenStore) -> None:
    routed: list[str] = []

    class CountingRouter(OfflineRouter):
        def route(self, utterance: str, active_flow: str | None = None, awaiting: str | None = None) -> Any:
            routed.append(utterance)
            return super().route(utterance, active_flow, awaiting)

    async def scenario() -> dict[str, Any] | None:
        router = CountingRouter([c.flow for c in FLOWS.values()])
        session = await SessionHost(FLOWS, open_store(tmp_path / "fast.sqlite"), router).session("s3")
        await session.say("take me to the station")
        for i in range(5):  # location fixes never reach the router or the turn graph
            await session.device_event("location.update", {"lat": 31.2 + i / 1000, "lng": 121.4})
        await session.device_event("gesture.swipe_down", {})
        return session.snapshot()

    snapshot = asyncio.run(scenario())
    assert routed == ["take me to the station"]
    assert snapshot is not None
    session = snapshot["stack"][0]["session"]
    assert session["flow"] == "navigate" and session["slots"]["destination"] == "station"


def test_cli_chat_offline_session(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "cli.py"),
            "chat",
            "--db",
            str(tmp_path / "c.sqlite"),
            "--session",
            "c1",
            "--out",
            str(tmp_path / "out"),
        ],
        input="tell me a joke\ntranslate into Japanese\ns\nq\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "routing: offline" in proc.stdout
    assert "route via offline: answer" in proc.stdout
    assert "start_flow translate {'target_lang': 'ja'}" in proc.stdout
    assert "HUD · double_text" in proc.stdout


def test_a_spoken_cancel_lets_the_flow_wrap_up_as_it_declares(tmp_path: Path, open_store: OpenStore) -> None:
    """Cancel means what the flow says: the meeting notes are closed and saved, not thrown away."""

    calls: list[str] = []

    def notes(name: str, result: dict[str, Any], takes_ms: int = 0) -> Any:
        async def skill(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            calls.append(name)
            if takes_ms:
                await ctx.sleep(takes_ms)
            return result

        return skill

    skills = {
        "transcribe.start": notes("start", {"id": "m1"}),
        "transcribe.stop": notes("stop", {"text": "We launch on Friday."}, takes_ms=2000),  # still closing
        "summarize.text": notes("summary", {"summary": "Launch", "decisions": [], "action_items": []}),
        "transcribe.export": notes("export", {"markdown": "m1.md"}),
    }

    async def scenario() -> dict[str, Any]:
        router = OfflineRouter([c.flow for c in FLOWS.values()])
        host = SessionHost(FLOWS, open_store(tmp_path / "m.sqlite"), router, skills=skills, virtual=True)
        session = await host.session("s9")
        await session.say("take meeting notes")
        return await session.say("qwen, cancel")

    result = asyncio.run(scenario())
    assert result["route"]["command"] == "cancel"
    session = result["snapshot"]["stack"][0]["session"]
    assert not session["done"] and session["config"] == "closing"  # closing the notes, not stopped
    assert calls == ["start", "stop"]
