"""Editor and CI integration: the pre-commit hooks and the example workflow run as written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from engine.language.yaml_reader import read_yaml
from tests.support import ROOT

GOOD = (ROOT / "flows" / "capture.yaml").read_text()


def _repo(tmp_path: Path) -> Path:
    """A repository of someone else's flows, with one good flow, its tests and one broken flow."""
    repo = tmp_path / "their-repo"
    (repo / "flows" / "tests").mkdir(parents=True)
    (repo / "flows" / "capture.yaml").write_text(GOOD)
    shutil.copy(ROOT / "flows" / "tests" / "capture.yaml", repo / "flows" / "tests" / "capture.yaml")
    (repo / "flows" / "broken.yaml").write_text(
        "flow: broken\ninitial: a\nstates:\n  a: {on: {gesture.tap: nowhere}}\n"
    )
    return repo


def _hooks() -> dict[str, dict]:
    return {h["id"]: h for h in read_yaml((ROOT / ".pre-commit-hooks.yaml").read_bytes(), "hooks").data}


def _run_hook(hook: dict, repo: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    """As pre-commit runs a `script` hook: the entry from the hook repository, in the user's repository."""
    entry, *args = hook["entry"].split()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENSFLOW_")}
    return subprocess.run(
        [str(ROOT / entry), *args, *files], cwd=repo, capture_output=True, text=True, timeout=300, env=env
    )


def test_the_validate_hook_fails_a_broken_flow_with_its_position(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    hook = _hooks()["lensflow-validate"]
    assert hook["language"] == "script" and os.access(ROOT / hook["entry"].split()[0], os.X_OK)
    good = _run_hook(hook, repo, ["flows/capture.yaml"])
    assert good.returncode == 0, good.stdout + good.stderr
    bad = _run_hook(hook, repo, ["flows/capture.yaml", "flows/broken.yaml"])
    assert bad.returncode == 1 and "flows/broken.yaml:4:" in bad.stdout and "nowhere" in bad.stdout


def test_the_test_and_explore_hooks_run_in_another_repository(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "flows" / "broken.yaml").unlink()
    tests = _run_hook(_hooks()["lensflow-test"], repo, ["flows/tests/capture.yaml"])
    assert tests.returncode == 0 and " 0 failed" in tests.stdout, tests.stdout + tests.stderr
    explore = _run_hook(_hooks()["lensflow-explore"], repo, ["flows/capture.yaml"])
    assert explore.returncode == 0, explore.stdout


def test_the_example_workflow_commands_work_on_a_repository_of_flows(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / ".lensflow").symlink_to(ROOT)
    workflow = read_yaml((ROOT / "docs" / "examples" / "ci" / "flows.yml").read_bytes(), "workflow").data
    steps = workflow["jobs"]["flows"]["steps"]
    commands = [s["run"] for s in steps if "cli.py" in str(s.get("run", ""))]
    assert any("--format github" in c for c in commands) and any("--format sarif" in c for c in commands)
    results = {}
    for command in commands:
        proc = subprocess.run(command, shell=True, cwd=repo, capture_output=True, text=True, timeout=300)
        results[command] = proc
    github = next(p for c, p in results.items() if "--format github" in c)
    assert github.returncode == 1 and "::error file=flows/broken.yaml,line=4" in github.stdout
    sarif = json.loads((repo / "lensflow.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert (repo / "flow-tests.xml").is_file()
