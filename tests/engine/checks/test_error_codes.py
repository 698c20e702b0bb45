"""`error.code` is one documented vocabulary: skills raise only its codes, the catalogue lists what
each skill raises, the reference shows them, and guards are checked against them."""

from __future__ import annotations

import ast
import asyncio
import json
import shutil
import socket
from pathlib import Path

import pytest

from engine.checks.config import Config
from engine.checks.validate import validate_paths
from engine.language.catalog import CATALOG_DIR, PROFILES_DIR, CatalogError, load_catalog
from skills.base import SkillError
from skills.qwen.client import LlmSettings
from tests.support import ROOT
from tests.support.flows import run_skill

RAISERS = {"SkillError", "invoke_failed", "llm_failed", "call_failed", "InvokeFailed", "LlmFailed", "CallFailed"}


def _raised_codes() -> dict[str, list[str]]:
    """Every literal code the skills and the engine raise, with where (module:line)."""
    found: dict[str, list[str]] = {}
    for folder in ("skills", "engine"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            constants = {
                t.id: node.value.value
                for node in tree.body
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                for t in node.targets
                if isinstance(t, ast.Name) and isinstance(node.value.value, str)
            }
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in RAISERS:
                    continue
                if name == "SkillError":
                    args = node.args[:1]
                else:  # failure inputs: (state, code, ...); session-style methods: (session, state, code, ...)
                    args = node.args[1:2] if name[0].isupper() else node.args[2:3]
                for arg in args:
                    code = arg.value if isinstance(arg, ast.Constant) else constants.get(getattr(arg, "id", ""))
                    if isinstance(code, str):
                        found.setdefault(code, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
            for node in ast.walk(tree):  # tables of provider codes (Alipay's sub_codes)
                if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "REFUSALS" for t in node.targets):
                    for value in node.value.values:  # type: ignore[attr-defined]
                        found.setdefault(value.value, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_skills_and_the_engine_raise_only_codes_of_the_vocabulary() -> None:
    vocabulary = load_catalog().errors
    raised = _raised_codes()
    assert {"BAD_AMOUNT", "FILE_NOT_ALLOWED", "TIMEOUT", "LLM_UNAVAILABLE", "UNKNOWN_FLOW"} <= set(raised)
    unknown = {code: where for code, where in raised.items() if code not in vocabulary.codes}
    assert unknown == {}


def test_one_name_per_meaning() -> None:
    vocabulary = load_catalog().errors
    raised = _raised_codes()
    for old in ("OFFLINE", "UNREACHABLE", "NOT_CONFIGURED", "BAD_CONFIG", "INVALID_KEY", "SERVER_ERROR"):
        assert old not in vocabulary.codes and vocabulary.canonical(old) in vocabulary.codes
        assert old not in raised, raised.get(old)
    meanings = list(vocabulary.codes.values())
    assert len(set(meanings)) == len(meanings) and all(m.strip() for m in meanings)


def test_every_code_a_skill_module_raises_is_listed_by_some_skill_or_the_engine() -> None:
    catalog = load_catalog()
    listed = {c for spec in catalog.skills.values() for c in spec["errors"]}
    listed |= {c for codes in catalog.errors.engine.values() for c in codes}
    raised = {code for code, where in _raised_codes().items() if any(w.startswith("skills/") for w in where)}
    assert raised - listed == set()
    for name, spec in catalog.skills.items():
        assert isinstance(spec.get("errors"), list), name
        assert set(spec["errors"]) <= set(catalog.errors.codes), name


def test_the_offline_answer_of_an_online_skill_is_unavailable() -> None:
    from skills.registry import embedded_skills

    for name in ("assistant.answer", "vision.describe"):  # translation has an offline answer (skills/translation)
        with pytest.raises(SkillError) as info:
            run_skill(embedded_skills()[name], {"text": "hi", "question": "hi", "image": "x"})
        assert info.value.code == "UNAVAILABLE", name


def test_a_model_endpoint_that_is_not_running_is_unavailable_to_skills() -> None:
    from skills.qwen.skills import QwenSkills

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    skills = QwenSkills(LlmSettings(base_url=f"http://127.0.0.1:{port}/v1", max_retries=0))
    with pytest.raises(SkillError) as info:
        asyncio.run(skills.translate({"text": "hi", "target": "fr"}, None))
    assert info.value.code == "UNAVAILABLE"


def test_a_skill_listing_a_code_outside_the_vocabulary_is_a_catalogue_error(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, folder)
    skills = json.loads((folder / "skills.json").read_text(encoding="utf-8"))
    skills["skills"]["translate.text"]["errors"].append("OFFLINE")
    (folder / "skills.json").write_text(json.dumps(skills), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"translate\.text.*OFFLINE \(OFFLINE is now UNAVAILABLE\)"):
        load_catalog(folder, PROFILES_DIR)


def test_the_reference_lists_every_code_with_its_meaning_and_each_skills_codes() -> None:
    from engine.designer.reference import reference_markdown

    catalog = load_catalog()
    text = reference_markdown()
    assert "## Error codes" in text
    for code, meaning in catalog.errors.codes.items():
        assert f"| `{code}` |" in text and meaning.split("(")[0].strip() in text, code
    row = next(line for line in text.splitlines() if line.startswith("| `payment.pay` |"))
    assert "`BAD_AMOUNT`" in row and "payment" in row


FLOW = """\
flow: codes
description: Branches on error codes.
permissions: [display, network]
requires: [display]
triggers: {{phrases: ["check codes"]}}
initial: working
states:
  working:
    {step}
      on_done: done
      on_error:
        - if: "{guard}"
          target: done
        - target: done
    on:
      gesture.swipe_down: done
      error.*:
        - if: "{outer}"
          target: done
  done: {{type: final}}
"""
STEPS = {
    "invoke": "invoke:\n      skill: translate.text\n      with: {text: hi, target: fr}",
    "llm": "llm:\n      prompt: Say hi",
    "call": "call:\n      flow: codes",
}


def _findings(tmp_path: Path, step: str, guard: str, outer: str = "true") -> list[tuple[int, int, str]]:
    path = tmp_path / "codes.yaml"
    path.write_text(FLOW.format(step=STEPS[step], guard=guard, outer=outer))
    result = validate_paths([str(path)], Config())
    return [(f.line, f.column, f.message) for f in result.findings if f.rule == "unknown-error-code"]


@pytest.mark.parametrize(
    ("step", "guard", "message"),
    [
        (
            "invoke",
            "error.code == 'OFFLINE'",
            "'translate.text' never fails with error.code 'OFFLINE'; 'OFFLINE' is now 'UNAVAILABLE'",
        ),
        ("invoke", "error.code == 'UNAVAILBLE'", "did you mean 'UNAVAILABLE'?"),
        ("invoke", "error.code in ['TIMEOUT', 'NO_ROUTE']", "never fails with error.code 'NO_ROUTE'"),
        (
            "llm",
            "error.code == 'INVALID_OUPUT'",
            "an llm step never fails with error.code 'INVALID_OUPUT'; did you mean 'INVALID_OUTPUT'?",
        ),
        ("call", "'UNKNOWN_FLOWS' != error.code", "a call never fails with error.code 'UNKNOWN_FLOWS'"),
    ],
)
def test_a_guard_comparing_with_a_code_the_step_never_raises_is_reported(
    tmp_path: Path, step: str, guard: str, message: str
) -> None:
    ((line, column, text),) = _findings(tmp_path, step, guard)
    assert message in text
    bad = guard.split("'")[-2] if "NO_ROUTE" in guard else guard.split("'")[1]
    lines = (tmp_path / "codes.yaml").read_text().splitlines()
    expected = next(n for n, row in enumerate(lines, 1) if guard in row)
    assert (line, column) == (expected, lines[expected - 1].index(f"'{bad}'") + 2)  # at the code, inside the guard


@pytest.mark.parametrize(
    ("step", "guard"),
    [
        ("invoke", "error.code == 'UNAVAILABLE' || error.code in ['RATE_LIMITED', 'PERMISSION_DENIED']"),
        ("llm", "error.code == 'LLM_UNAVAILABLE' || error.code == 'INVALID_OUTPUT'"),
        ("call", "error.code == 'CALL_DEPTH'"),
    ],
)
def test_codes_the_step_raises_pass(tmp_path: Path, step: str, guard: str) -> None:
    assert _findings(tmp_path, step, guard) == []


def test_a_catch_all_handler_is_checked_against_the_whole_vocabulary(tmp_path: Path) -> None:
    found = _findings(tmp_path, "invoke", "true", outer="error.code == 'NOT_FUOND'")
    assert [(line, msg) for line, _, msg in found] == [
        (20, "no skill, llm step or call fails with error.code 'NOT_FUOND'; did you mean 'NOT_FOUND' or 'NO_CODE'?")
    ]
    assert _findings(tmp_path, "invoke", "true", outer="error.code == 'NO_ROUTE'") == []


def test_the_shipped_flows_compare_only_codes_their_steps_raise() -> None:
    result = validate_paths([str(ROOT / "flows")], Config())
    assert [f for f in result.findings if f.rule == "unknown-error-code"] == []
    assert result.findings == []
