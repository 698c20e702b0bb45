"""Ordinary mistakes in settings, arguments and input files: one line on stderr, exit 2, never a traceback.

Each case runs the CLI in a fresh interpreter, as a user would.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine.assistant.chat_model import LlmError
from skills.qwen.client import LlmSettings, QwenClient
from tests.support import ROOT
from tests.support.cli import assert_one_line_usage_error, run_cli
from tests.support.flows import WriteFlow

FLOWS = ROOT / "flows"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment minus every Lensflow and provider setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LENSFLOW_", "DASHSCOPE_", "OPENAI_"))}
    return {**env, **extra}


def run_clean(
    *args: str, env: dict[str, str], cwd: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        cwd=cwd or ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- events files and arguments --------------------------------------------------------------------------


def test_until_zero_in_an_events_file_is_an_error_at_its_line(tmp_path: Path) -> None:
    events = tmp_path / "events.yaml"
    events.write_text("events:\n  - {at: 1s, event: gesture.tap}\nuntil: 0ms\n")
    proc = run_cli("run", str(FLOWS / "capture.yaml"), "--events", str(events))
    assert_one_line_usage_error(proc, f"{events}:3:8", "until")


def test_until_zero_alone_runs_just_the_start(tmp_path: Path) -> None:
    events = tmp_path / "events.yaml"
    events.write_text("until: 0ms\n")
    proc = run_cli("run", str(FLOWS / "capture.yaml"), "--events", str(events), "--json")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--active", "nope"], "--active: no flow 'nope'"),
        (["--active", "capture", "--awaiting", "maybe"], "neither confirm nor collect:SLOT"),
        (["--active", "capture", "--awaiting", "collect:colour"], "no slot 'colour'"),
        (["--awaiting", "collect:mode"], "needs --active"),
    ],
)
def test_route_refuses_an_unknown_active_flow_or_awaited_slot(flags: list[str], expected: str) -> None:
    proc = run_clean("route", "yes", *flags, env=clean_env())
    assert_one_line_usage_error(proc, expected)


# -- pyproject.toml ----------------------------------------------------------------------------------------


def test_a_tool_key_that_is_not_a_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('tool = "x"\n')
    proc = run_cli("validate", str(FLOWS / "capture.yaml"), cwd=tmp_path)
    assert_one_line_usage_error(proc, "pyproject.toml:1", "`tool` must be a table")


def test_an_unknown_profile_in_the_project_settings_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lensflow]\nrules = {}\nprofile = "nope"\n')
    proc = run_cli("validate", str(FLOWS / "capture.yaml"), cwd=tmp_path)
    line = assert_one_line_usage_error(proc, "pyproject.toml:3", "unknown device profile 'nope'")
    assert "quark-display" in line


# -- environment ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("LENSFLOW_LLM_TIMEOUT", "abc", "LENSFLOW_LLM_TIMEOUT: 'abc' is not a number"),
        ("LENSFLOW_LLM_TIMEOUT", "-1", "LENSFLOW_LLM_TIMEOUT"),
        ("LENSFLOW_LLM_RETRIES", "2.5", "LENSFLOW_LLM_RETRIES: '2.5' is not a whole number"),
        ("LENSFLOW_DATA", "", "LENSFLOW_DATA: is set but empty"),
        ("LENSFLOW_FILES", " ", "LENSFLOW_FILES: is set but empty"),
    ],
)
def test_bad_settings_stop_route_with_one_line(name: str, value: str, expected: str) -> None:
    proc = run_clean("route", "take a photo", env=clean_env(**{name: value}))
    assert_one_line_usage_error(proc, expected)


def test_an_empty_data_folder_setting_writes_nothing_into_the_current_folder(tmp_path: Path) -> None:
    proc = run_clean(
        "simulate",
        str(FLOWS / "capture.yaml"),
        "--scenario",
        str(ROOT / "docs" / "examples" / "capture.scenario.yaml"),
        "--out",
        str(tmp_path / "out"),
        "--no-audio",
        env=clean_env(LENSFLOW_DATA=""),
        cwd=tmp_path,
    )
    assert_one_line_usage_error(proc, "LENSFLOW_DATA")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _db_cases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 20)
    return {
        "folder": (str(folder), "is a folder"),
        "text file": (str(text), "cannot be used as a SQLite session store"),
        "under a file": (str(text / "sessions.sqlite"), "LENSFLOW_DB"),
        "mysql": ("mysql://user:pw@db.example/lensflow", "'mysql://' is not a supported store"),
    }


@pytest.mark.parametrize("case", ["folder", "text file", "under a file", "mysql"])
def test_a_session_store_that_cannot_be_used_is_one_line_before_chat_starts(tmp_path: Path, case: str) -> None:
    url, expected = _db_cases(tmp_path)[case]
    work = tmp_path / "work"
    work.mkdir()
    proc = run_clean(
        "chat",
        "--out",
        str(tmp_path / "chat"),
        env=clean_env(LENSFLOW_DB=url, LENSFLOW_DATA=str(tmp_path / "d")),
        cwd=work,
        stdin="q\n",
    )
    assert_one_line_usage_error(proc, expected)
    assert proc.stdout == "" and list(work.iterdir()) == []  # nothing started, no 'mysql:' folder made


def test_a_sqlite_url_and_a_plain_path_are_both_session_stores(tmp_path: Path) -> None:
    from engine.settings import session_store

    assert session_store(f"sqlite:///{tmp_path}/a.sqlite").sqlite_path == tmp_path / "a.sqlite"
    assert session_store(str(tmp_path / "b.sqlite")).sqlite_path == tmp_path / "b.sqlite"
    assert session_store("postgres://u@h/db").postgres_url == "postgres://u@h/db"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LENSFLOW_BACKEND": "kafka://127.0.0.1:9092"}, "LENSFLOW_BACKEND: 'kafka://127.0.0.1:9092' is not a backend"),
        ({"LENSFLOW_BACKEND": "temporal://nowhere"}, "give the Temporal frontend as temporal://HOST:PORT"),
        ({"LENSFLOW_BACKEND": "temporal://127.0.0.1:7233", "LENSFLOW_TASK_QUEUE": "a/b"}, "LENSFLOW_TASK_QUEUE"),
    ],
)
def test_a_session_backend_that_cannot_be_used_is_one_line_before_serve_listens(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    proc = run_clean("serve", "--port", "0", env=clean_env(LENSFLOW_DATA=str(tmp_path / "d"), **env))
    assert_one_line_usage_error(proc, expected)


def test_serve_names_a_temporal_service_it_cannot_reach_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = run_clean(
        "serve", "--port", "0", "--backend", f"temporal://127.0.0.1:{port}", env=clean_env(LENSFLOW_DATA=str(tmp_path))
    )
    assert_one_line_usage_error(proc, f"cannot reach Temporal at 127.0.0.1:{port}")


# -- input files ------------------------------------------------------------------------------------------


def test_a_fifo_named_like_a_flow_is_refused_not_waited_on(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    os.mkfifo(folder / "stuck.yaml")
    proc = run_cli("validate", str(folder))
    assert_one_line_usage_error(proc, "stuck.yaml", "not a regular file: a FIFO")


def test_a_list_as_hud_layout_is_a_finding_not_a_crashed_rule(write_flow: WriteFlow) -> None:
    path = write_flow(
        """\
flow: listed
version: 1
title: Listed
description: A layout given as a list.
permissions: [display]
requires: [display]
initial: a
states:
  a:
    entry:
      - hud.show: {layout: [card], title: hi}
    on:
      gesture.tap: done
  done:
    type: final
"""
    )
    proc = run_cli("validate", "--format", "json", str(path))
    assert "internal-error" not in proc.stdout and "Traceback" not in proc.stderr
    assert '"action-args"' in proc.stdout  # the list is reported as what it is: not a layout name


# -- a local model that is not running --------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_local_connection_is_not_retried() -> None:
    settings = LlmSettings(base_url=f"http://127.0.0.1:{_closed_port()}/v1", max_retries=5, backoff_s=1000.0)
    client = QwenClient(settings)

    async def call() -> LlmError:
        try:  # one backoff of 1000 s would stop this test: returning at all means nothing was retried
            await asyncio.wait_for(client.chat([{"role": "user", "content": "hi"}]), 60)
        except LlmError as exc:
            return exc
        raise AssertionError("a closed port answered")

    error = asyncio.run(call())
    assert error.code == "UNAVAILABLE" and "nothing is listening" in error.message


def test_route_with_a_closed_local_model_falls_back_offline_and_says_so_once() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    proc = run_clean("route", "tak a foto", "--json", env=clean_env(LENSFLOW_LLM_BASE_URL=url))  # not sure: asks
    assert proc.returncode == 0, proc.stderr
    assert '"via": "offline"' in proc.stdout and '"flow": "capture"' in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "routed offline" in lines[0], proc.stderr
