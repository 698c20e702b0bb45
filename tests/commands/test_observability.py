"""`--trace-console`, `--log-level`, `--log-json` and the OTEL_* settings, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT
from tests.support.cli import assert_one_line_usage_error, run_cli

WORDS = "take a photo of the secret plans"


def _chat(tmp_path: Path, *flags: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "chat", "--db", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "out"), *flags,
        env={"LENSFLOW_DATA": str(tmp_path / "data"), **(env or {})}, input=f"{WORDS}\nq\n",
    )  # fmt: skip


def test_a_traced_chat_turn_is_nested_spans_on_stderr_beside_its_json_log(tmp_path: Path) -> None:
    proc = _chat(tmp_path, "--trace-console", "--log-level", "info", "--log-json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]  # spans and records alike
    spans = {s["context"]["span_id"]: s for s in lines if "context" in s}
    records = [r for r in lines if "context" not in r]
    (turn,) = [s for s in spans.values() if s["name"] == "lensflow.turn"]
    assert turn["parent_id"] is None and turn["resource"]["attributes"]["service.name"] == "lensflow-chat"
    assert (
        turn["attributes"]["lensflow.route.command"] == "start_flow"
        and turn["attributes"]["lensflow.flow"] == "capture"
    )
    (skill,) = [s for s in spans.values() if s["name"] == "lensflow.skill"]
    step = spans[skill["parent_id"]]
    assert step["name"] == "lensflow.step" and step["attributes"]["lensflow.event"] == "start"
    assert step["parent_id"] == turn["context"]["span_id"]  # turn > step > skill
    assert {s["context"]["trace_id"] for s in spans.values()} == {turn["context"]["trace_id"]}
    assert any(r["msg"] == "utterance routed" and r["flow"] == "capture" for r in records)
    assert "secret" not in proc.stderr  # neither a span nor a log line holds what the wearer said
    assert '"span_id"' not in proc.stdout  # the conversation's output stays the conversation's


def test_nothing_is_logged_or_traced_in_a_chat_unless_asked(tmp_path: Path) -> None:
    proc = _chat(tmp_path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr[-2000:]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER: 'zipkin' is not an exporter Lensflow sets up"),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "otlp export needs opentelemetry-exporter-otlp-proto-http installed"),
        ({"LENSFLOW_LOG_JSON": "sometimes"}, "LENSFLOW_LOG_JSON: 'sometimes' is neither on"),
    ],
    ids=["unknown-exporter", "otlp-not-installed", "bad-json-setting"],
)
def test_a_bad_observability_setting_is_one_line_before_anything_starts(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    proc = _chat(tmp_path, env=env)
    assert expected in assert_one_line_usage_error(proc)
    assert not (tmp_path / "s.sqlite").exists()


def _imports(args: list[str]) -> Any:
    code = (
        f"import sys; sys.argv = ['cli.py', *{args!r}]\n"
        "import cli\n"
        "try:\n    cli.main(sys.argv[1:])\nfinally:\n"
        "    print('OTEL', sorted(m for m in sys.modules if m.startswith('opentelemetry'))[:3], file=sys.stderr)\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args", [["validate", "--format", "json", "flows"], ["graph", "flows/glance_pay.yaml"]], ids=lambda a: a[0]
)
def test_the_fast_commands_do_not_import_opentelemetry(args: list[str]) -> None:
    """The API costs about 10 ms to import, a twentieth of `validate flows/`: fast commands go without it."""
    assert "OTEL []" in _imports(args).stderr
