"""What the commands share: model flags become a settings value (never the process environment),
and one device-profile lookup answers every command the same way."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator

import pytest

from tests.support.cli import assert_one_line_usage_error, run_cli
from tests.support.servers.openai_compat import OpenAICompatServer


@pytest.fixture
def server() -> Iterator[OpenAICompatServer]:
    srv = OpenAICompatServer().start()
    yield srv
    srv.stop()


def test_route_flags_reach_the_model_and_leave_the_environment_alone(
    server: OpenAICompatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import cli

    server.reply(tool_calls=[("start_capture", {"mode": "video"})])
    before = dict(os.environ)
    code = cli.main(["route", "film this please", "--json", "--llm-url", server.base_url, "--model", "qwen-max"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["slots"] == {"mode": "video"}
    assert server.requests[-1]["model"] == "qwen-max"
    assert dict(os.environ) == before  # the flags were for that one command, not for the rest of the process


def test_llm_settings_put_the_flags_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from commands.common import llm_settings

    monkeypatch.setenv("LENSFLOW_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("LENSFLOW_LLM_MODEL", "qwen-turbo")
    monkeypatch.setenv("LENSFLOW_LLM_TIMEOUT", "5")
    plain = llm_settings(argparse.Namespace(llm_url=None, model=None))
    assert (plain.base_url, plain.model, plain.timeout_s) == ("http://127.0.0.1:9/v1", "qwen-turbo", 5.0)
    flagged = llm_settings(argparse.Namespace(llm_url="http://127.0.0.1:8/v1", model="qwen-max"))
    assert (flagged.base_url, flagged.model, flagged.timeout_s) == ("http://127.0.0.1:8/v1", "qwen-max", 5.0)
    assert llm_settings() == plain  # commands without the flags read the environment alone


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--profile", "nope", "flows/capture.yaml"],
        ["preview", "flows/capture.yaml", "--out", "{tmp}", "--profile", "nope"],
        [
            "simulate",
            "flows/translate.yaml",
            "--scenario",
            "docs/examples/translate.scenario.yaml",
            "--profile",
            "nope",
            "--out",
            "{tmp}",
            "--no-audio",
        ],
    ],
    ids=lambda args: args[0],
)
def test_an_unknown_profile_is_the_same_one_line_error_everywhere(args: list[str], tmp_path: os.PathLike[str]) -> None:
    proc = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args], env={"LENSFLOW_DATA": str(tmp_path)})
    line = assert_one_line_usage_error(proc, "unknown device profile 'nope'; known: ")
    assert "quark-display" in line
