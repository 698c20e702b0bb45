"""The read_text flow as a wearer meets it: `cli.py simulate` with a photo, and "read this" routed to it offline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from skills.understanding import offline_router
from tests.support import FIXTURES, ROOT
from tests.support.cli import run_cli
from tests.support.routing import shipped_router
from tests.support.signs import blank_photo, sign_photo

POSITIVES = yaml.safe_load((FIXTURES / "routing" / "positives_read_text.yaml").read_text(encoding="utf-8"))


def simulate(tmp_path: Path, scenario: Path, *extra: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the flow on simulated glasses with no network; the end state and the trace."""
    proc = run_cli(
        "simulate",
        "flows/read_text.yaml",
        "--scenario",
        str(scenario),
        "--out",
        str(tmp_path / "out"),
        "--json",
        *extra,
        env={"LENSFLOW_DATA": str(tmp_path / "data"), "LENSFLOW_LLM_BASE_URL": "", "DASHSCOPE_API_KEY": ""},
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    trace = [json.loads(line) for line in (tmp_path / "out" / "trace.jsonl").read_text().splitlines()]
    return json.loads(proc.stdout.splitlines()[-1]), trace


def test_the_demo_sign_is_shown_on_the_hud_and_said_with_no_errors(tmp_path: Path) -> None:
    end, trace = simulate(tmp_path, ROOT / "docs" / "examples" / "read_sign.scenario.yaml")
    walls = [e for e in trace if e["kind"] == "hud" and e["layout"] == "text_wall"]
    assert walls[0]["lines"] == ["出口 Exit", "地铁站 Metro Station"] and walls[0]["files"]  # drawn as a PNG too
    said = [e for e in trace if e["kind"] == "spoken"]
    assert [e["text"] for e in said] == ["出口 Exit. 地铁站 Metro Station."] and said[0]["file"].endswith(".wav")
    assert end["final"] == "done" and end["vars"]["read"]["languages"] == ["zh", "en"]
    report = run_cli("report", str(tmp_path / "out"))
    row = next(line for line in report.stdout.splitlines() if "read_text" in line)
    assert [cell.strip() for cell in row.strip("│ ").split("│")][:2] == ["read_text", "done"]
    assert [cell.strip() for cell in row.split("│")][6:8] == ["0", "0"]  # needs network, errors


def test_a_spoken_paraphrase_with_no_trigger_phrase_reads_the_sign(tmp_path: Path) -> None:
    # the demo: nothing runs; the wearer says (in a WAV) words no flow has as a trigger phrase
    end, trace = simulate(tmp_path, ROOT / "docs" / "examples" / "read_sign_spoken.scenario.yaml")
    heard = [e for e in trace if e["kind"] == "heard"]
    assert [(e["text"], e["command"], e["flow"]) for e in heard] == [
        ("what is written here", "start_flow", "read_text")
    ]
    flow = next(f for f in shipped_router().flows.values() if f.id == "read_text")
    assert not any(phrase in heard[0]["text"] for phrase in flow.phrases)
    walls = [e for e in trace if e["kind"] == "hud" and e["layout"] == "text_wall"]
    assert walls[0]["lines"] == ["出口 Exit", "地铁站 Metro Station"] and end["final"] == "done"


def test_a_blank_photo_then_a_tap_at_the_sign_reads_it(tmp_path: Path) -> None:
    case = tmp_path / "case"
    case.mkdir()
    blank_photo(case / "wall.jpg")
    sign_photo(case / "sign.png", [("禁止吸烟", "No Smoking", (170, 30, 30))])
    scenario = case / "s.scenario.yaml"
    scenario.write_text(
        "events:\n  - {at: 0s, image: wall.jpg}\n  - {at: 2s, image: sign.png}\n  - {at: 3s, gesture: tap}\nuntil: 6s\n"
    )
    end, trace = simulate(tmp_path, scenario, "--no-audio")
    cards = [e["lines"] for e in trace if e["kind"] == "hud" and e["layout"] == "card"]
    assert cards[0][0] == "No text"
    assert end["vars"]["read"]["lines"] == ["禁止吸烟 No Smoking"] and end["states"] == ["showing"]


def test_a_corrupt_photo_ends_in_a_message_not_a_traceback(tmp_path: Path) -> None:
    case = tmp_path / "case"
    case.mkdir()
    (case / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    (case / "s.scenario.yaml").write_text("events:\n  - {at: 0s, image: broken.png}\n")
    proc = run_cli("simulate", "flows/read_text.yaml", "--scenario", str(case / "s.scenario.yaml"), "--no-audio")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "'broken.png' is not an image" in proc.stderr


@pytest.fixture(scope="module")
def router() -> Any:
    return offline_router(list(shipped_router().flows.values()))


@pytest.mark.parametrize("said", ["read this", "what does this say", "读一下", "这上面写的什么", "帮我读一下这个"])
def test_the_trigger_phrases_start_the_flow(router: Any, said: str) -> None:
    route = router.route(said)
    assert (route.command, route.flow) == ("start_flow", "read_text"), route.as_dict()


def test_paraphrases_with_no_trigger_phrase_reach_the_flow(router: Any) -> None:
    said = POSITIVES["read_text"]
    assert len(said) >= 10 and sum(bool(re.search(r"[\u4e00-\u9fff]", s)) for s in said) >= 5
    routes = {s: router.route(s) for s in said}
    wrong = {s: r.as_dict() for s, r in routes.items() if (r.command, r.flow) != ("start_flow", "read_text")}
    assert len(wrong) <= 1, wrong


def test_taking_a_photo_still_goes_to_the_camera_not_to_reading(router: Any) -> None:
    for said in ("帮我拍一下这个", "take a photo of this sign", "what is this"):
        assert router.route(said).flow != "read_text", said
