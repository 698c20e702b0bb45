"""CI integration: the example workflow runs as written (the pre-commit hooks: tests/packaging/test_pre_commit.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from engine.language.yaml_reader import read_yaml
from tests.support import ROOT
from tests.support.repos import flows_repo


def test_the_example_workflow_commands_work_on_a_repository_of_flows(tmp_path: Path) -> None:
    repo = flows_repo(tmp_path)
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
