"""`preview` shows what the wearer sees at run time: prompts are said not drawn, cards match, samples fill text."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import ROOT
from tests.support.cli import run_cli

OFFLINE = {"LENSFLOW_LLM_BASE_URL": "https://unset.invalid/v1", "LENSFLOW_LLM_API_KEY_ENV": "LENSFLOW_UNSET"}


def test_a_collect_prompt_is_said_not_drawn(tmp_path: Path) -> None:
    proc = run_cli("preview", "flows/navigate.yaml", "--state", "ask_destination", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob("*.png"))  # at run time nothing is shown while the flow asks
    assert (tmp_path / "ask_destination.spoken.txt").read_text(encoding="utf-8") == "Where to?\n"


def test_the_confirm_card_and_prompt_are_the_ones_the_simulator_shows(tmp_path: Path) -> None:
    run = run_cli(
        "simulate", "flows/glance_pay.yaml", "--scenario", "docs/examples/glance_pay.scenario.yaml",
        "--out", str(tmp_path / "run"), "--no-audio", "--json",
        env={**OFFLINE, "LENSFLOW_DATA": str(tmp_path / "data")},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    entered = next(e["t"] for e in lines if e["kind"] == "enter" and e.get("state") == "confirming")
    left = next(e["t"] for e in lines if e["kind"] == "exit" and e.get("state") == "confirming")
    card = [e for e in lines if e["kind"] == "hud" and entered <= e["t"] < left][-1]  # up while it asked
    asked = next(e for e in lines if e["kind"] == "prompt" and "file" in e)  # the device's record of it
    slots = lines[-1]["slots"]

    out = tmp_path / "preview"
    proc = run_cli(
        "preview", "flows/glance_pay.yaml", "--state", "confirming", "--out", str(out), "--profile", "audio-only",
        "--slots", f"amount={slots['amount']}", f"merchant={slots['merchant']}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    said = (out / "confirming.spoken.txt").read_text(encoding="utf-8").splitlines()
    assert said == [" ".join(card["lines"]), asked["text"]]  # the card (spoken on audio-only), then the question

    from devices.sim.preview import Sample, preview_flow
    from engine.language.catalog import load_catalog
    from engine.language.loader import load_flow

    built = load_flow(ROOT / "flows" / "glance_pay.yaml").built
    assert built is not None
    flow = built.flow
    profile = load_catalog().profiles["quark-display"]
    (shown,) = preview_flow(flow, profile, "confirming", Sample(slots=slots))
    assert shown.frame is not None and list(shown.frame.lines) == card["lines"]
    assert shown.spoken == [asked["text"]]


FLOW = """\
flow: eta
permissions: [display, speaker]
slots: {place: {type: string}}
initial: showing
states:
  showing:
    entry:
      - hud.show: {layout: card, title: "{{ slots.place }}", body: "{{ vars.route.summary_short }}"}
      - audio.speak: {text: "{{ event.text }}"}
"""


def test_sample_values_fill_the_dynamic_text(tmp_path: Path) -> None:
    flow = tmp_path / "eta.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    sample = tmp_path / "sample.yaml"
    sample.write_text("vars: {route: {summary_short: 9 km}}\nevent: {text: Off we go}\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = run_cli(
        "preview", str(flow), "--out", str(out), "--profile", "audio-only",
        "--sample", str(sample), "--slots", "place=Hangzhou Railway Station", "--vars", "route.summary_short=2.0 km",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "showing.spoken.txt").read_text(encoding="utf-8").splitlines() == [
        "Hangzhou Railway Station 2.0 km",  # --vars wins over the file
        "Off we go",
    ]
    bare = run_cli("preview", str(flow), "--out", str(tmp_path / "bare"), "--profile", "audio-only")
    assert "‹vars.route.summary_short›" in (tmp_path / "bare" / "showing.spoken.txt").read_text(encoding="utf-8")
    assert bare.returncode == 0


def test_a_bad_sample_is_one_line(tmp_path: Path) -> None:
    sample = tmp_path / "sample.yaml"
    sample.write_text("slot: {place: x}\n", encoding="utf-8")
    proc = run_cli("preview", "flows/navigate.yaml", "--out", str(tmp_path / "o"), "--sample", str(sample))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"lensflow: {sample}: unknown key 'slot'; a sample has slots, vars, event, device"
    broken = run_cli("preview", "flows/navigate.yaml", "--out", str(tmp_path / "o"), "--slots", "place")
    assert broken.returncode == 2 and broken.stderr.strip() == "lensflow: 'place' is not name=value"
