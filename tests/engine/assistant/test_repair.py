"""Conversation repair on the session host: corrections re-ask, go back stops at what cannot be undone,
repeat says and shows again, "what can you do" lists what this device can run, cancel still cancels."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from engine.assistant.assistant_session import AssistantSession
from engine.assistant.host import SessionHost
from engine.assistant.repair import Repair, recognise
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.runtime.compiler import compile_flow
from tests.support import FIXTURES
from tests.support.assistant import FLOWS, Payments, counting_host
from tests.support.flows import flow_of

PARCEL = compile_flow(flow_of(FIXTURES / "repair" / "parcel.yaml"))


@pytest.mark.parametrize(
    ("said", "repair"),
    [
        ("no, 45 yuan", Repair("correct", "45 yuan")),
        ("不对，是45块", Repair("correct", "45块")),
        ("actually make it 45", Repair("correct", "45")),
        ("I said West Lake", Repair("correct", "west lake")),
        ("no, not 25, 45", Repair("correct", "45")),
        ("repeat that", Repair("repeat")),
        ("再说一遍", Repair("repeat")),
        ("What?", Repair("repeat")),
        ("go back", Repair("back")),
        ("返回上一步", Repair("back")),
        ("what can you do", Repair("help")),
        ("你能做什么", Repair("help")),
        ("help please", Repair("help")),
    ],
)
def test_repair_utterances_are_recognised_in_english_and_chinese(said: str, repair: Repair) -> None:
    assert recognise(said) == repair


@pytest.mark.parametrize(
    "said", ["no", "no thanks", "no, cancel", "不对，取消", "go back home", "what is this", "yes", "pay 45 yuan"]
)
def test_answers_cancels_and_commands_are_not_repairs(said: str) -> None:
    assert recognise(said) is None


def _pay(lines: list[str], payments: Payments | None = None) -> tuple[list[dict[str, Any]], AssistantSession]:
    """glance_pay started on a QR code with 12.00 on it, then `lines` said; the turns' results."""
    payments = payments or Payments()

    async def go() -> tuple[list[dict[str, Any]], AssistantSession]:
        host = counting_host(SqliteSessionStore(":memory:"), payments, virtual=True)
        session = host.create("wearer")
        await session.start("glance_pay")
        results = [await session.say(line) for line in lines]
        return results, session

    return asyncio.run(go())


@pytest.mark.parametrize("said", ["no, 45 yuan", "不对，是45块", "actually make it 45"])
def test_a_correction_changes_the_amount_and_asks_the_flows_own_question_again(said: str) -> None:
    payments = Payments()
    (result,), session = _pay([said], payments)
    assert result["route"]["command"] == "correct" and result["route"]["slots"] == {"amount": 45.0}
    assert result["replies"] == ["Confirm 45 to Lucky Noodles", "Pay 45 to Lucky Noodles?"]
    assert session.awaiting() == ("glance_pay", "confirm") and result["confirm"] == "Pay 45 to Lucky Noodles?"
    assert payments.charges == []  # a correction never answers the question


def test_the_corrected_amount_is_paid_only_after_its_own_yes() -> None:
    payments = Payments()
    results, session = _pay(["no, 45 yuan", "yes"], payments)
    assert len(payments.charges) == 1 and session.runner.end_state()["final"] == "paid"
    assert "Paid 45 to Lucky Noodles" in results[1]["replies"]


def test_a_correction_the_slot_refuses_changes_nothing_and_says_why() -> None:
    (result,), session = _pay(["no, 0 yuan"])
    assert result["replies"] == ["The amount must be more than zero."]
    assert session.runner.stack[0].session.slots["amount"] == 12.0


def test_a_name_read_from_the_qr_code_is_not_renamed_by_a_correction() -> None:
    (result,), session = _pay(["I said West Lake"])
    assert result["route"]["command"] == "reask"  # the question is asked again, nothing changes
    assert session.runner.stack[0].session.slots["merchant"] == "Lucky Noodles"


@pytest.mark.parametrize("cancel", ["cancel", "不对，取消", "no, cancel"])
def test_cancel_still_cancels_after_a_correction(cancel: str) -> None:
    payments = Payments()
    _results, session = _pay(["no, 45 yuan", cancel], payments)
    assert session.runner.end_state()["final"] == "cancelled" and payments.charges == []


def test_repeat_says_the_question_again_and_shows_the_last_frame_again() -> None:
    (_, result), session = _pay(["no, 45 yuan", "再说一遍"])
    assert result["route"]["via"] == "repair" and result["replies"] == ["Pay 45 to Lucky Noodles?"]
    shown = [c for c in session.outbox.unacked if c["action"] == "hud.show"]
    assert shown[-1]["args"]["body"] == "45 to Lucky Noodles" and shown[-1]["seq"] > shown[-2]["seq"]


def test_help_lists_the_skills_by_title_that_the_device_profile_can_run() -> None:
    async def go(profile: str, said: str) -> list[str]:
        host = SessionHost(FLOWS, SqliteSessionStore(":memory:"), OfflineRouter([c.flow for c in FLOWS.values()]))
        session = host.create("wearer", profile=profile)
        result = await session.say(said)
        return list(result["replies"])

    (full,) = asyncio.run(go("quark-display", "what can you do"))
    (audio,) = asyncio.run(go("audio-only", "你能做什么"))
    assert "Glance to pay" in full and "Teleprompter" in full and full.startswith("I can help with: ")
    assert audio.startswith("我可以帮你：") and "Navigation" in audio
    assert "Glance to pay" not in audio and "Teleprompter" not in audio  # they require a display


def test_repeat_after_a_new_flow_started_means_the_new_flows_words_not_an_earlier_answer() -> None:
    async def go() -> list[str]:
        host = SessionHost(FLOWS, SqliteSessionStore(":memory:"), OfflineRouter([c.flow for c in FLOWS.values()]))
        session = host.create("wearer")
        await session.say("what can you do")
        await session.say("take a photo")
        result = await session.say("repeat that")
        return list(result["replies"])

    # before, the skills list of the earlier answer was said again
    assert not any(reply.startswith("I can help with") for reply in asyncio.run(go()))


def _parcel(steps: Callable[[AssistantSession], Awaitable[list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        saved: list[Any] = []

        async def save(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
            saved.append(args)
            return {"path": args["file"]}

        host = SessionHost(
            {"parcel": PARCEL}, SqliteSessionStore(":memory:"), OfflineRouter([PARCEL.flow]),
            skills={"media.save": save}, virtual=True,
        )  # fmt: skip
        session = host.create("wearer")
        await session.start("parcel")
        return [*await steps(session), {"saved": saved, "end": session.runner.end_state()}]

    return asyncio.run(go())


def test_go_back_returns_to_the_question_before_with_the_slots_it_had_then() -> None:
    async def steps(session: AssistantSession) -> list[dict[str, Any]]:
        first = await session.say("go back")
        await session.say("Hangzhou")
        back = await session.say("返回上一步")
        back["slots_then"] = dict(session.runner.stack[0].session.slots)  # the snapshot is the live one
        again = await session.say("Suzhou")
        return [first, back, again]

    first, back, again, _end = _parcel(steps)
    assert first["replies"] == ["There is nothing to go back to."]
    assert back["replies"] == ["Which city?"] and "city" not in back["slots_then"]
    assert again["replies"][-1] == "How many kilograms to Suzhou?"


def test_a_correction_at_a_collect_renames_what_the_wearer_gave_and_asks_again() -> None:
    async def steps(session: AssistantSession) -> list[dict[str, Any]]:
        await session.say("Hangzhou")
        corrected = await session.say("no, I said Ningbo")
        answered = await session.say("no, 45")  # the question asked: answered, and its rejection applies
        return [corrected, answered]

    corrected, answered, _end = _parcel(steps)
    assert corrected["route"]["slots"] == {"city": "ningbo"}
    assert corrected["replies"][-1] == "How many kilograms to ningbo?"
    assert answered["replies"] == ["Parcels over 30 kilograms are not taken."]


def test_go_back_never_passes_a_saved_file() -> None:
    async def steps(session: AssistantSession) -> list[dict[str, Any]]:
        for said in ("Hangzhou", "2", "yes"):
            await session.say(said)
        return [await session.say("go back")]

    (refused, end) = _parcel(steps)
    assert refused["replies"] == ["I can't go back past the saved file: it cannot be undone."]
    assert end["end"]["states"] == ["printing"] and len(end["saved"]) == 1


def test_what_repair_remembers_survives_a_restart() -> None:
    async def go() -> list[str]:
        store = SqliteSessionStore(":memory:")
        first = SessionHost({"parcel": PARCEL}, store, OfflineRouter([PARCEL.flow]), virtual=True)
        session = first.create("wearer", session_id="s1")
        await session.start("parcel")
        await session.say("Hangzhou")
        first.release("s1")
        second = SessionHost({"parcel": PARCEL}, store, OfflineRouter([PARCEL.flow]), virtual=True)
        again = await second.resume("s1")
        assert again is not None
        repeated = await again.say("repeat that")
        back = await again.say("go back")
        return [*repeated["replies"], *back["replies"]]

    assert asyncio.run(go()) == ["How many kilograms to Hangzhou?", "Which city?"]
