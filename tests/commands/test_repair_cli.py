"""Conversation repair as a user meets it: typed in `chat`, and said in a simulated scenario."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.support import FIXTURES, ROOT
from tests.support.cli import run_cli


def test_chat_goes_back_corrects_repeats_and_refuses_to_go_back_past_a_saved_file(tmp_path: Path) -> None:
    typed = "label a parcel\nHangzhou\n返回上一步\nSuzhou\n3\nno, 4\nrepeat that\nyes\ngo back\nq\n"
    proc = run_cli(
        "chat", "--flows", str(FIXTURES / "repair"), "--db", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "o"),
        env={"LENSFLOW_DATA": str(tmp_path)}, input=typed,
    )  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    said = [line for line in proc.stdout.splitlines() if line.startswith("glasses> ")]
    assert said == [
        "glasses> Which city?",
        "glasses> To Hangzhou How heavy?",
        "glasses> How many kilograms to Hangzhou?",
        "glasses> Which city?",  # back: the city is asked again
        "glasses> To Suzhou How heavy?",
        "glasses> How many kilograms to Suzhou?",
        "glasses> Send 3 kilograms to Suzhou?",
        "glasses> Send 4 kilograms to Suzhou?",  # the correction re-asks; it confirms nothing
        "glasses> Send 4 kilograms to Suzhou?",  # repeat
        "glasses> Print the label now?",
        "glasses> I can't go back past the saved file: it cannot be undone.",
    ]
    assert "route via repair: correct parcel {'weight': 4.0}" in proc.stdout


def test_a_scenario_corrects_the_amount_and_pays_it_only_after_the_new_yes(tmp_path: Path) -> None:
    shutil.copy(ROOT / "docs" / "examples" / "merchant_qr.png", tmp_path)
    scenario = tmp_path / "pay.scenario.yaml"
    scenario.write_text(
        "events:\n  - {at: 0s, image: merchant_qr.png}\n  - {at: 2s, say: '不对，是45块'}\n"
        "  - {at: 3s, say: what can you do}\n  - {at: 5s, say: 'yes'}\nuntil: 10s\n",
        encoding="utf-8",
    )
    proc = run_cli(
        "simulate", "flows/glance_pay.yaml", "--scenario", str(scenario), "--out", str(tmp_path / "out"),
        "--json", "--no-audio", env={"LENSFLOW_DATA": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    prompts = [e["text"] for e in lines if e.get("kind") == "prompt" and "state" in e]
    paid = [e["args"]["amount"] for e in lines if e.get("kind") == "invoke" and e.get("skill") == "payment.pay"]
    skills_card = [e for e in lines if e.get("kind") == "hud" and e.get("layout") == "list"]
    assert prompts == ["Pay 25 to Lucky Noodles?", "Pay 45 to Lucky Noodles?"] and paid == [45.0]
    assert skills_card and skills_card[0]["lines"][0] == "I can help with"
    assert lines[-1]["final"] == "paid"
