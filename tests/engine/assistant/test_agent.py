"""The LangGraph turn loop: routing, confirmation through interrupt, and sessions that survive a restart."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from engine.assistant.agent import Assistant, open_checkpointer
from engine.assistant.routing import OfflineRouter
from tests.support import ROOT
from tests.support.assistant import FLOWS, Payments, counting_assistant


def test_a_payment_waits_for_confirmation_and_resumes_by_voice_or_gesture(tmp_path: Path) -> None:
    async def scenario(answer: str) -> tuple[dict[str, Any], dict[str, Any], Payments]:
        payments = Payments()
        async with open_checkpointer(str(tmp_path / f"{answer}.sqlite")) as saver:
            assistant = counting_assistant(saver, payments)
            first = await assistant.turn("s1", "pay 25 yuan")
            if answer.startswith("gesture."):  # a gesture is not an utterance: it answers the pending step directly
                second = await assistant.answer_confirmation("s1", answer)
            else:
                second = await assistant.turn("s1", answer)
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


def test_no_flow_fits_gives_an_answer_without_starting_anything(tmp_path: Path) -> None:
    async def scenario() -> dict[str, Any]:
        async with open_checkpointer(str(tmp_path / "a.sqlite")) as saver:
            return await counting_assistant(saver, Payments()).turn("s2", "tell me a joke")

    result = asyncio.run(scenario())
    assert result["route"]["command"] == "answer" and not result.get("snapshot")
    assert "offline" in result["replies"][0]


SCRIPT = textwrap.dedent(
    """\
    import asyncio, json, sys
    sys.path.insert(0, {root!r})
    from tests.support.assistant import Payments, counting_assistant
    from engine.assistant.agent import open_checkpointer

    async def main() -> None:
        payments = Payments()
        async with open_checkpointer({db!r}) as saver:
            result = await counting_assistant(saver, payments).turn("kept", sys.argv[1])
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
            async with open_checkpointer(server.url) as saver:
                await saver.setup()
                return await counting_assistant(saver, payments).turn("pg-1", text)  # a fresh assistant each time

        first = asyncio.run(turn("pay 8 yuan"))
        assert first["confirm"] and payments.charges == []
        second = asyncio.run(turn("yes"))
        assert second["snapshot"]["stack"][0]["session"]["final"] == "paid"
        run = second["snapshot"]["stack"][0]["session"]["run"]  # the run survived the restart with its key
        assert payments.charges == [f"{run}:pg-1:QR-1"]
    finally:
        server.stop()


def test_device_events_take_the_fast_path_without_routing(tmp_path: Path) -> None:
    routed: list[str] = []

    class CountingRouter(OfflineRouter):
        def route(self, utterance: str, active_flow: str | None = None, awaiting: str | None = None) -> Any:
            routed.append(utterance)
            return super().route(utterance, active_flow, awaiting)

    async def scenario() -> dict[str, Any] | None:
        async with open_checkpointer(str(tmp_path / "fast.sqlite")) as saver:
            assistant = Assistant(FLOWS, CountingRouter([c.flow for c in FLOWS.values()]), saver)
            await assistant.turn("s3", "take me to the station")
            for i in range(5):  # location fixes never reach the router or the turn graph
                await assistant.device_event("s3", "location.update", {"lat": 31.2 + i / 1000, "lng": 121.4})
            await assistant.device_event("s3", "gesture.swipe_down", {})
            return await assistant.snapshot("s3")

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


def test_a_spoken_cancel_lets_the_flow_wrap_up_as_it_declares(tmp_path: Path) -> None:
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
        async with open_checkpointer(str(tmp_path / "m.sqlite")) as saver:
            assistant = Assistant(FLOWS, OfflineRouter([c.flow for c in FLOWS.values()]), saver, skills=skills)
            await assistant.turn("s9", "take meeting notes")
            return await assistant.turn("s9", "qwen, cancel")

    result = asyncio.run(scenario())
    assert result["route"]["command"] == "cancel"
    session = result["snapshot"]["stack"][0]["session"]
    assert not session["done"] and session["config"] == "closing"  # closing the notes, not stopped
    assert calls == ["start", "stop"]
