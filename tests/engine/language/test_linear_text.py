"""Text handling, routing and per-state checks stay linear in their input, and inputs are bounded.

Speed is not timed here (machines are noisy; see bench/text_scaling_bench.py for
seconds). Instead each test counts the work done, as the Python lines a tracer
sees executed, for an input of size n and 4n: linear work grows ~4x, quadratic
work ~16x. Large inputs from the field (a 200 KB toast, a 20,000-state chain, a
many-thousand-word utterance) run once through the CLI and must simply finish.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from wcwidth import iter_graphemes, wcswidth

import engine.checks.validate  # noqa: F401  (importing it registers every rule)
from devices.hud.layout import ELLIPSIS, MAX_TEXT_CHARS, fit_line, lay_out
from engine.assistant.routing import MAX_UTTERANCE_CHARS, OfflineRouter, bounded
from engine.checks.base import RULES, FlowContext, ProjectContext
from engine.checks.hud import without_templates
from engine.language.catalog import HudGeometry, load_catalog
from engine.language.loader import load_flow
from engine.language.slot_values import find_number
from engine.language.textwidth import cluster_units, text_cells, text_units, wrap
from engine.runtime.compiler import build
from tests.support import ROOT
from tests.support.flows import flow_of
from tests.support.scaling import LINEAR, growth, work

QUARK = HudGeometry(5, 38, 14)
HEADER = """\
flow: {name}
version: 1
title: Generated
description: A generated flow for the scaling tests.
permissions: [display]
requires: [display]
triggers:
  phrases: ["{name} now"]
initial: s0
states:
"""


# -- wrapping and laying out ----------------------------------------------------------------


def _reference_wrap(text: str, columns: int, cjk_columns: int) -> list[str]:
    """The previous wrap, which re-measured what was left of a long word after every line.

    Kept as the definition of the expected lines: the one-pass wrap must agree with it.
    It measures grapheme clusters in exact units of 1/cjk_columns cell, as the wrap does
    (it used float cells, which put 13 CJK characters on a 14-character Quark line), and
    knows nothing of punctuation: the pieces below have none.
    """
    line_units = columns * cjk_columns
    lines: list[str] = []
    for paragraph in text.split("\n"):
        tokens: list[str] = []
        word = ""
        for cluster in iter_graphemes(paragraph):
            if cluster == " " or wcswidth(cluster) == 2:
                if word:
                    tokens.append(word)
                    word = ""
                tokens.append(cluster)
            else:
                word += cluster
        if word:
            tokens.append(word)
        line, used = "", 0
        for token in tokens:
            cells = text_units(token, columns, cjk_columns)
            if token == " ":
                if line:
                    line, used = line + " ", used + cjk_columns
                continue
            if used + cells <= line_units:
                line, used = line + token, used + cells
                continue
            if line.strip():
                lines.append(line.rstrip())
            line, used = "", 0
            while cells > line_units:
                cut, taken = "", 0
                for cluster in iter_graphemes(token):
                    step = cluster_units(cluster, columns, cjk_columns)
                    if taken + step > line_units:
                        break
                    cut, taken = cut + cluster, taken + step
                if not cut:
                    cut = next(iter_graphemes(token))
                lines.append(cut)
                token = token[len(cut) :]
                cells = text_units(token, columns, cjk_columns)
            line, used = token, cells
        lines.append(line.rstrip())
    return lines


PIECES = ["Pay", "25.00", "to", "Lucky", "Noodles", "扫码支付成功", "您", "x" * 50, "é\u0301", "\u200b", "¥", "😀"]
PIECES += ["一" * 20, "\x07", "\t"]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("columns, cjk_columns", [(38, 14), (10, 4), (1, 1), (20, 9)])
def test_wrap_gives_the_same_lines_as_before_for_ordinary_text(seed: int, columns: int, cjk_columns: int) -> None:
    rnd = random.Random(seed)
    text = "".join(rnd.choice(PIECES) + rnd.choice([" ", " ", "", "\n", "  "]) for _ in range(rnd.randint(0, 60)))
    assert wrap(text, columns, cjk_columns) == _reference_wrap(text, columns, cjk_columns)


def test_wrapping_one_long_word_is_linear() -> None:
    assert growth(lambda n: "x" * n, lambda text: wrap(text, 38, 14), 4000) < LINEAR


def test_wrapping_long_cjk_and_prose_is_linear() -> None:
    assert growth(lambda n: "扫码支付成功" * n, lambda text: wrap(text, 38, 14), 500) < LINEAR
    assert growth(lambda n: "pay the merchant " * n, lambda text: wrap(text, 38, 14), 500) < LINEAR


def test_fitting_a_line_measures_each_character_once() -> None:
    # zero-width characters take no room, so the cut comes late: it used to re-measure all of them per character
    def make(n: int) -> str:
        return "\u200b" * n + "x" * 60

    assert growth(make, lambda text: fit_line(text, QUARK), 1000) < LINEAR
    line = fit_line(make(100), QUARK)
    assert line.endswith(ELLIPSIS) and text_cells(line, 38, 14) <= 38


def test_a_huge_toast_lays_out_in_bounded_work() -> None:
    frame = lay_out("toast", {"text": "x" * 400_000}, QUARK)
    assert len(frame.lines) == 2 and frame.lines[1].endswith(ELLIPSIS)
    assert growth(lambda n: "x" * n, lambda text: lay_out("toast", {"text": text}, QUARK), 2000) < LINEAR


def test_hud_text_is_bounded_and_the_cut_is_marked() -> None:
    words = " ".join(f"w{i}" for i in range(60_000))  # ~350,000 characters
    wall = lay_out("text_wall", {"text": words}, QUARK)
    lines = [line for page in wall.pages for line in page]
    assert sum(len(line) for line in lines) <= MAX_TEXT_CHARS
    assert lines[0].startswith("w0 w1 ") and lines[-1].endswith(ELLIPSIS)
    subtitles = lay_out("double_text", {"original": words, "translation": "好"}, QUARK)
    assert subtitles.lines[1].endswith("w59999")  # subtitles keep the newest words
    normal = "Your payment to Lucky Noodle House was accepted. " * 20  # ordinary text is not cut
    shown = [line for page in lay_out("text_wall", {"text": normal}, QUARK).pages for line in page]
    assert shown == [line for line in wrap(normal, 38, 14) if line] and ELLIPSIS not in "".join(shown)


# -- the validator's HUD rule ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(30))
def test_template_stripping_matches_the_lazy_pattern(seed: int) -> None:
    import re

    rnd = random.Random(seed)
    pattern = re.compile(r"\{\{.*?\}\}", re.DOTALL)
    for _ in range(300):
        text = "".join(rnd.choice(["{{", "}}", "{", "}", "a", "\n", " ", "{{ x }}"]) for _ in range(rnd.randint(0, 12)))
        assert without_templates(text) == pattern.sub("", text)


def _toast_flow(folder: Path, text: str) -> Path:
    path = folder / "toast.yaml"
    body = f'  s0:\n    entry:\n      - hud.show: {{layout: toast, text: "{text}"}}\n    on: {{gesture.tap: done}}\n'
    path.write_text(HEADER.format(name="toast") + body + "  done: {type: final}\n", encoding="utf-8")
    return path


def _chain_flow(folder: Path, states: int) -> Path:
    path = folder / f"chain_{states}.yaml"
    body = "".join(f"  s{i}:\n    on: {{gesture.tap: s{i + 1}}}\n" for i in range(states))
    path.write_text(HEADER.format(name="chain") + body + f"  s{states}: {{type: final}}\n", encoding="utf-8")
    return path


def _flow_rules(path: Path) -> Callable[[], None]:
    """Every flow rule of the validator, run on one file (loading it is not counted)."""
    catalog = load_catalog()
    loaded = load_flow(path)
    assert loaded.built is not None and loaded.schema_ok, [f.message for f in loaded.sink.findings]
    ctx = FlowContext(loaded.built, catalog, catalog.profile("quark-display"), ProjectContext(), loaded.sink)

    rules = [rule for rule in RULES.values() if rule.scope == "flow" and rule.check is not None]
    assert {"no-final-path", "dead-end", "hud-overflow"} <= {rule.slug for rule in rules}

    def run() -> None:
        for rule in rules:
            rule.check(ctx)  # type: ignore[misc]

    return run


def test_the_checks_are_linear_in_chained_states(tmp_path: Path) -> None:
    small, large = _flow_rules(_chain_flow(tmp_path, 400)), _flow_rules(_chain_flow(tmp_path, 1600))
    small()  # warm caches
    assert work(large) / work(small) < LINEAR


def test_the_hud_rule_is_linear_in_the_toast_length(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    small = _flow_rules(_toast_flow(tmp_path / "a", "x" * 5000))
    large = _flow_rules(_toast_flow(tmp_path / "b", "x" * 20000))
    small()  # warm caches
    assert work(large) / work(small) < LINEAR


def _fan_flow(folder: Path, branches: int) -> Path:
    """One state with many guarded branches on one event."""
    path = folder / f"fan_{branches}.yaml"
    body = "  s0:\n    on:\n      asr.transcript:\n"
    body += "".join(f"        - {{if: \"event.text == 'w{i}'\", target: t{i}}}\n" for i in range(branches))
    body += "".join(f"  t{i}: {{type: final}}\n" for i in range(branches))
    path.write_text(HEADER.format(name="fan") + body, encoding="utf-8")
    return path


def test_compiling_many_branches_of_one_event_is_linear(tmp_path: Path) -> None:
    catalog = load_catalog()
    flows = [flow_of(_fan_flow(tmp_path, n)) for n in (150, 600)]
    build(flows[0], catalog)  # warm caches
    small, large = (work(lambda f=f: build(f, catalog)) for f in flows)
    assert large / small < LINEAR


# -- routing ---------------------------------------------------------------------------------


def test_number_search_is_linear_in_the_words() -> None:
    assert growth(lambda n: "pay " + "lunch " * n, find_number, 300) < LINEAR
    assert growth(lambda n: "pay " + "lunch " * n + "twenty five", find_number, 300) < LINEAR


@pytest.mark.parametrize(
    "text, number",
    [
        ("twenty five yuan", 25.0),
        ("one hundred and five", 105.0),
        ("a hundred", 100.0),  # "a" cannot start a number: "hundred" does
        ("pay an apple and two pears", 2.0),
        ("and then one two three", 1.0),  # separate numbers: the first one (they used to be summed to 6)
        ("nothing here", None),
        ("pay 12.5 now twenty", 12.5),
        ("十二块", 12.0),
    ],
)
def test_number_search_finds_the_same_numbers(text: str, number: float | None) -> None:
    assert find_number(text) == number


@pytest.fixture(scope="module")
def router() -> OfflineRouter:
    from tests.support.routing import shipped_router

    return shipped_router()


def test_long_utterances_are_cut_at_a_word(router: OfflineRouter) -> None:
    long = "pay twenty five yuan " + "and some more words " * 500
    cut = bounded(long)
    assert len(cut) <= MAX_UTTERANCE_CHARS and long.startswith(cut) and long[len(cut)] == " "
    route = router.route(long)
    assert route.command == "start_flow" and route.flow == "glance_pay" and route.slots.get("amount") == 25.0
    hidden = "la " * (MAX_UTTERANCE_CHARS // 3 + 10) + "translate into Japanese"
    assert router.route(hidden).command == "answer"  # what comes after the limit is not heard


def test_routing_work_is_bounded_for_long_utterances(router: OfflineRouter) -> None:
    def make(n: int) -> str:
        return "pay " + "lunch " * n

    assert growth(make, router.route, 100) < LINEAR
    assert work(router.route, make(1500)) < 2 * work(router.route, make(MAX_UTTERANCE_CHARS // 6))


# -- the CLI on inputs from the field --------------------------------------------------------


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python cli.py ARGS`; the timeout is a generous bound for inputs that used to take minutes."""
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_validating_a_200kb_one_word_toast_finishes(tmp_path: Path) -> None:
    path = _toast_flow(tmp_path, "x" * 200_000)
    proc = _cli("validate", "--format", "json", str(path), timeout=60)  # it used to take 80-90 s
    findings = json.loads(proc.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["hud-overflow"], proc.stderr
    assert "needs 5264 lines" in findings[0]["message"]


def test_validating_a_toast_of_unclosed_braces_finishes(tmp_path: Path) -> None:
    path = _toast_flow(tmp_path, "{{ a " * 50_000)  # every `{{` used to be matched against the rest of the text
    proc = _cli("validate", "--format", "json", str(path), timeout=60)  # it used to take about 100 s
    rules = {f["rule"] for f in json.loads(proc.stdout)["findings"]}
    assert {"expression-syntax", "hud-overflow"} <= rules, proc.stderr  # unclosed: all of it is literal text


def test_validating_20000_chained_states_finishes_without_deep_recursion(tmp_path: Path) -> None:
    path = _chain_flow(tmp_path, 20_000)
    proc = _cli("validate", str(path), timeout=45)  # it used to take about a minute
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_routing_8000_words_finishes(tmp_path: Path) -> None:
    utterance = "pay " + " ".join(["lunch"] * 8000)
    proc = _cli("route", utterance, "--json", timeout=60)  # 4,000 words used to take 20 s, 8,000 minutes
    route = json.loads(proc.stdout)
    assert route["command"] == "start_flow" and route["flow"] == "glance_pay", proc.stderr
