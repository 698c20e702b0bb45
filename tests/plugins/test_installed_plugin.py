"""The sample plugin (docs/examples/plugin/lensflow-hello) built, installed beside Lensflow in a fresh venv, and used.

The venv holds Lensflow's wheel and its base dependencies (tests/packaging/installs.py) and the plugin's own
wheel, built from a copy of the example as a user would build it. A broken plugin is written out as an installed
distribution in a folder of its own, put on PYTHONPATH for the runs that need it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.installs import BaseInstall, build_wheel, install_base
from tests.plugins.support import write_plugin
from tests.support import ROOT

EXAMPLE = ROOT / "docs" / "examples" / "plugin" / "lensflow-hello"
FLOW = EXAMPLE / "flows" / "weather.yaml"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> BaseInstall:
    install = install_base(build_wheel(tmp_path_factory.mktemp("wheel")), tmp_path_factory.mktemp("install"))
    work = tmp_path_factory.mktemp("plugin")
    shutil.copytree(EXAMPLE, work / "source", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "-q", "-w", str(work / "dist"), str(work / "source")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (work / "dist").glob("lensflow_hello-*.whl")
    installed = subprocess.run(
        [*pip, "--python", str(install.bin / "python"), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    return install


def _lensflow(
    venv: BaseInstall, *args: str, cwd: Path, extra_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = venv.env()
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    return subprocess.run(
        [str(venv.bin / "lensflow"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def test_a_flow_using_the_plugin_validates_clean_on_the_plugin_profile(venv: BaseInstall, tmp_path: Path) -> None:
    proc = _lensflow(venv, "validate", str(FLOW), "--profile", "hello-mono", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["findings"] == [] and proc.stderr == ""


def test_a_flow_misusing_the_plugin_skill_gets_findings_at_file_line(venv: BaseInstall, tmp_path: Path) -> None:
    text = FLOW.read_text(encoding="utf-8")
    misused = (
        text.replace("permissions: [display, speaker, location]", "permissions: [display, speaker]")
        .replace('with: {city: "{{ slots.city }}"}', "with: {town: Hangzhou}")
        .replace("'UNKNOWN_CITY'", "'NO_SUCH_CITY'")
    )
    path = tmp_path / "weather.yaml"
    path.write_text(misused, encoding="utf-8")
    proc = _lensflow(venv, "validate", str(path), "--profile", "hello-mono", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = {(f["rule"], f["line"]) for f in json.loads(proc.stdout)["findings"]}
    lines = text.splitlines()
    skill_line = 1 + next(i for i, line in enumerate(lines) if "skill: weather_demo.today" in line)
    assert found == {
        ("missing-permission", skill_line),
        ("skill-args", skill_line + 1),
        ("unknown-error-code", 1 + next(i for i, line in enumerate(lines) if "UNKNOWN_CITY" in line)),
    }


def test_reference_lists_the_plugin_skill_code_profile_and_driver(venv: BaseInstall, tmp_path: Path) -> None:
    proc = _lensflow(venv, "reference", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (skill,) = [line for line in proc.stdout.splitlines() if line.startswith("| `weather_demo.today` |")]
    assert "from plugin `weather_demo`" in skill and "`UNKNOWN_CITY`" in skill and "| location |" in skill
    assert "| `UNKNOWN_CITY` |" in proc.stdout
    assert "| `hello-mono` (plugin `hello`) | display, location, microphone, network, speaker, touchpad | 3 lines" in (
        proc.stdout
    )
    assert "| `hello_lines` | 'hello_lines' (lensflow-hello 0.1.0) | `lensflow_hello.driver:make` |" in proc.stdout


def test_simulate_and_run_call_the_plugin_skill(venv: BaseInstall, tmp_path: Path) -> None:
    scenario = EXAMPLE / "flows" / "weather.scenario.yaml"
    proc = _lensflow(
        venv, "simulate", str(FLOW), "--scenario", str(scenario), "--json", "--no-audio", "--out", "out", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    end = json.loads(proc.stdout.splitlines()[-1])
    assert end["final"] == "done" and end["vars"]["weather"] == {
        "city": "Hangzhou",
        "summary": "light rain",
        "high_c": 19,
        "low_c": 14,
    }
    events = tmp_path / "atlantis.events.yaml"
    events.write_text("slots: {city: Atlantis}\nuntil: 5s\n", encoding="utf-8")
    proc = _lensflow(venv, "run", str(FLOW), "--events", str(events), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["final"] == "unknown_city"  # the plugin's own error code


def test_a_broken_plugin_is_one_line_and_the_rest_still_works(venv: BaseInstall, tmp_path: Path) -> None:
    broken = tmp_path / "broken-site"
    catalog = {"skills": {"broken.thing": {"description": "x", "input": {"type": "object"}, "permissions": []}}}
    write_plugin(broken, "lensflow-broken", "lensflow_broken", skills=catalog)
    for args in ([str(ROOT / "flows")], [str(FLOW), "--profile", "hello-mono"]):  # built-ins, the good plugin
        proc = _lensflow(venv, "validate", *args, cwd=tmp_path, extra_path=broken)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (line,) = proc.stderr.splitlines()  # one line, no traceback
        assert line.startswith("lensflow: warning: plugin 'lensflow_broken' (lensflow-broken 0.1.0): ")
        assert "catalog.json: skills.broken.thing is missing the required key" in line and line.endswith("; left out")
