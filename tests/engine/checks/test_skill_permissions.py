"""Skills need permissions like device ports do: `storage`, `network` and `payment` are checked
by the validator, refused at run time, and found by exploration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine.checks.config import Config
from engine.checks.validate import validate_paths
from engine.designer.explore import explore
from engine.language.catalog import CATALOG_DIR, PROFILES_DIR, load_catalog, skill_permissions
from tests.support import ROOT
from tests.support.cli import run_cli
from tests.support.runtime import compile_text, kinds, run

SAVE = """\
flow: keep
description: Saves a photo.
permissions: [display, camera{extra}]
requires: [display, camera]
triggers: {{phrases: ["keep this"]}}
initial: saving
states:
  saving:
    invoke:
      skill: {skill}
      with: {with_}
      on_done: saved
      on_error:
        - if: "error.code == 'PERMISSION_DENIED'"
          target: denied
        - target: failed
    on: {{error.permission: refused}}
  saved: {{type: final}}
  denied: {{type: final}}
  refused: {{type: final}}
  failed: {{type: final}}
"""
CASES = [
    ("media.save", "{file: photo.jpg}", "storage"),
    ("vision.describe", "{image: photo.jpg}", "network"),
    ("translate.text", "{text: hi, target: fr}", "network"),
    ("transcribe.start", "{title: standup}", "storage"),
    ("teleprompter.load", "{file: talk.txt}", "storage"),
]


def _flow(skill: str, with_: str, extra: str = "") -> str:
    return SAVE.format(skill=skill, with_=with_, extra=extra)


@pytest.mark.parametrize(("skill", "with_", "permission"), CASES)
def test_the_validator_reports_a_skill_whose_permission_is_not_declared(
    tmp_path: Path, skill: str, with_: str, permission: str
) -> None:
    path = tmp_path / "keep.yaml"
    path.write_text(_flow(skill, with_))
    result = validate_paths([str(path)], Config())
    found = [(f.line, f.column, f.message) for f in result.findings if f.rule == "missing-permission"]
    assert found == [(10, 14, f"skill '{skill}' needs the '{permission}' permission; add it to `permissions:`")]
    path.write_text(_flow(skill, with_, f", {permission}"))
    assert [f for f in validate_paths([str(path)], Config()).findings if f.rule == "missing-permission"] == []


def test_the_cli_names_the_skill_line_and_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "keep.yaml"
    path.write_text(_flow("media.save", "{file: photo.jpg}"))
    shown = run_cli("validate", str(path))
    assert shown.returncode == 1
    assert f"{path}:10:14" in shown.stdout and "'storage' permission" in shown.stdout


@pytest.mark.parametrize(("skill", "with_", "permission"), CASES)
def test_at_run_time_the_skill_is_refused_and_never_called(skill: str, with_: str, permission: str) -> None:
    called: list[dict[str, Any]] = []

    async def provider(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        called.append(args)
        return {}

    runner = run(_flow(skill, with_), until=1000, skills={skill: provider})
    assert called == []
    assert runner.session.final == "refused"  # error.permission, as for device actions
    refused = kinds(runner, "refused")
    assert refused and refused[0]["skill"] == skill and refused[0]["permission"] == permission

    granted = run(_flow(skill, with_, f", {permission}"), until=1000, skills={skill: provider})
    assert called and granted.session.final == "saved"


def test_a_refused_invoke_also_fails_so_its_state_does_not_wait_forever() -> None:
    text = _flow("media.save", "{file: photo.jpg}").replace("    on: {error.permission: refused}\n", "")
    runner = run(text, until=1000, skills={})
    assert runner.session.final == "denied"  # on_error saw error.code PERMISSION_DENIED


@pytest.mark.parametrize(("skill", "with_", "permission"), CASES[:2])
def test_exploration_finds_the_refused_skill(skill: str, with_: str, permission: str) -> None:
    report = explore(compile_text(_flow(skill, with_)))
    refused = [f for f in report.findings if f.kind == "refused"]
    assert refused and f"lacks the '{permission}' permission" in refused[0].message
    assert not [f for f in explore(compile_text(_flow(skill, with_, f", {permission}"))).findings]


def test_every_skill_that_stores_or_needs_the_network_says_so() -> None:
    catalog = load_catalog()
    needs = {name: set(skill_permissions(spec)) for name, spec in catalog.skills.items()}
    for name in ("media.save", "transcribe.start", "transcribe.append", "transcribe.export", "teleprompter.load"):
        assert "storage" in needs[name], name
    for name in ("translate.text", "assistant.answer", "vision.describe", "asr.transcribe"):
        assert "network" in needs[name], name
    assert all("payment" in needs[name] for name in catalog.skills if name.startswith("payment."))


def test_a_third_party_catalogue_with_the_single_permission_key_still_works(tmp_path: Path) -> None:
    folder = tmp_path / "catalog"
    shutil.copytree(CATALOG_DIR, folder)
    (folder / "errors.json").unlink()  # a catalogue without its own vocabulary uses the project's
    skills = json.loads((folder / "skills.json").read_text(encoding="utf-8"))
    spec = skills["skills"]["media.save"]
    del spec["permissions"], spec["errors"]
    spec["permission"] = "storage"
    (folder / "skills.json").write_text(json.dumps(skills), encoding="utf-8")
    catalog = load_catalog(folder, PROFILES_DIR)
    assert skill_permissions(catalog.skills["media.save"]) == ("storage",)
    path = tmp_path / "keep.yaml"
    path.write_text(_flow("media.save", "{file: photo.jpg}"))
    found = [f.message for f in validate_paths([str(path)], Config(), catalog).findings]
    assert found == ["skill 'media.save' needs the 'storage' permission; add it to `permissions:`"]


def test_the_shipped_flows_declare_what_their_skills_need() -> None:
    result = validate_paths([str(ROOT / "flows")], Config())
    assert [f for f in result.findings if f.rule == "missing-permission"] == []
