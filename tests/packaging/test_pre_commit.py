"""The pre-commit hooks other repositories use, run as pre-commit runs a `language: python` hook: its entry
with the `lensflow` command of a base install of this package, on the files of their repository that the
hook's `files` and `exclude` patterns select (no root, no apt packages, no extra)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.packaging.installs import PYPROJECT, BaseInstall
from tests.support import ROOT
from tests.support.repos import flows_repo

HOOKS: list[dict[str, Any]] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def _selected(hook: dict[str, Any], repo: Path) -> list[str]:
    """The repository's files the hook runs on, as pre-commit picks them (a regex search on the path)."""
    paths = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file())
    exclude = hook.get("exclude", "^$")
    return [p for p in paths if re.search(hook.get("files", ""), p) and not re.search(exclude, p)]


def _run(install: BaseInstall, hook_id: str, repo: Path) -> subprocess.CompletedProcess[str]:
    hook = next(h for h in HOOKS if h["id"] == hook_id)
    return install.run(*shlex.split(hook["entry"]), *_selected(hook, repo), cwd=repo, timeout=300)


def test_the_hooks_are_python_hooks_on_the_base_install() -> None:
    assert [h["id"] for h in HOOKS] == ["lensflow-validate", "lensflow-test", "lensflow-explore"]
    for hook in HOOKS:
        assert {"id", "name", "entry", "language"} <= set(hook), hook
        assert hook["language"] == "python" and not hook.get("additional_dependencies"), hook
        assert shlex.split(hook["entry"])[0] in PYPROJECT["project"]["scripts"], hook
    assert not (ROOT / "ci" / "pre-commit-run").exists()  # the old script hook needed `make install` (root, apt)


def test_the_validate_hook_fails_a_broken_flow_with_its_position(base_install: BaseInstall, tmp_path: Path) -> None:
    repo = flows_repo(tmp_path)
    assert _selected(next(h for h in HOOKS if h["id"] == "lensflow-validate"), repo) == [
        "flows/broken.yaml",
        "flows/capture.yaml",
    ]
    bad = _run(base_install, "lensflow-validate", repo)
    assert bad.returncode == 1 and "flows/broken.yaml:4:" in bad.stdout and "nowhere" in bad.stdout, bad.stdout
    (repo / "flows" / "broken.yaml").unlink()
    good = _run(base_install, "lensflow-validate", repo)
    assert good.returncode == 0, good.stdout + good.stderr


def test_the_test_and_explore_hooks_run_in_another_repository(base_install: BaseInstall, tmp_path: Path) -> None:
    repo = flows_repo(tmp_path)
    (repo / "flows" / "broken.yaml").unlink()
    tests = _run(base_install, "lensflow-test", repo)
    assert tests.returncode == 0 and " 0 failed" in tests.stdout, tests.stdout + tests.stderr
    assert "Traceback" not in tests.stderr
    explore = _run(base_install, "lensflow-explore", repo)
    assert explore.returncode == 0 and "capture" in explore.stdout, explore.stdout + explore.stderr
