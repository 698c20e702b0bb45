"""Configuration (`[tool.lensflow]`, LENSFLOW_* variables), utterances and CEL guards.

Settings come from whoever installs the glasses, utterances from whoever is in
earshot, guards from whoever wrote the flow: each is accepted or refused with a
clear error, never an uncaught exception, and never takes longer than the
per-input timeout (the probe child is killed and the input named).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.checks.base import RULES
from tests.drills.harness import cli, feed
from tests.drills.strategies import FLOW_IDS, WORDS, json_values, utterances
from tests.drills.tally import examples

SCRATCH = Path(tempfile.mkdtemp(prefix="lensflow-settings-"))
import engine.checks.validate  # noqa: E402,F401  (registers the rules)

RULE_NAMES = sorted(RULES) or ["hud-overflow"]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else "nan"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{}"


toml_values = st.one_of(
    st.sampled_from(["off", "info", "warning", "error", "quark-display", "audio-only", "flows", "", "nope"]),
    st.lists(st.sampled_from(["flows", "nope", "", ".", "/", "flows/ask.yaml"]), max_size=3),
    st.integers(-5, 5),
    st.booleans(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
)
keys = st.one_of(st.sampled_from(["profile", "paths", "rules", "x"]), st.text(max_size=6))
rule_lines = st.lists(
    st.tuples(st.one_of(st.sampled_from(RULE_NAMES), st.text(max_size=8)), toml_values), max_size=4
).map(lambda pairs: "\n".join(f'"{_esc(k)}" = {_toml_value(v)}' for k, v in pairs))


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


sections = st.builds(
    lambda body, rules, tail: f"[tool.lensflow]\n{body}\n\n[tool.lensflow.rules]\n{rules}\n{tail}",
    st.lists(st.tuples(keys, toml_values), max_size=4).map(
        lambda pairs: "\n".join(f'"{_esc(k)}" = {_toml_value(v)}' for k, v in pairs)
    ),
    rule_lines,
    st.sampled_from(
        ["", "[tool]\nlensflow = 3\n", "[tool.lensflow]\nprofile = 1\n", "x = [", "\x00", "[[tool.lensflow]]"]
    ),
)
pyprojects = st.one_of(sections, sections, sections, st.text(max_size=200))


@examples(60)
@given(pyprojects)
def test_tool_lensflow_settings_are_used_or_refused_with_their_line(text: str) -> None:
    result = feed("config", "config", text, show=text)
    if "error" in result:
        assert "\n" not in result["error"] and "pyproject.toml" in result["error"], result


@examples(3)
@given(pyprojects)
def test_validate_reads_its_settings_from_the_command_line(text: str) -> None:
    folder = Path(tempfile.mkdtemp(dir=SCRATCH))
    (folder / "pyproject.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
    (folder / "flows").mkdir()
    (folder / "flows" / "ask.yaml").write_bytes((Path(__file__).parents[2] / "flows" / "ask.yaml").read_bytes())
    cli("config_cli", "validate", cwd=folder, show=text)


SETTINGS = [
    "LENSFLOW_LLM_BASE_URL",
    "LENSFLOW_LLM_MODEL",
    "LENSFLOW_LLM_TIMEOUT",
    "LENSFLOW_LLM_RETRIES",
    "LENSFLOW_LLM_THINKING",
    "LENSFLOW_LLM_API_KEY_ENV",
    "LENSFLOW_ALIPAY_APP_ID",
    "LENSFLOW_ALIPAY_GATEWAY",
    "LENSFLOW_ALIPAY_TIMEOUT",
    "LENSFLOW_ALIPAY_PRIVATE_KEY",
    "LENSFLOW_ALIPAY_PUBLIC_KEY",
    "LENSFLOW_AMAP_KEY",
    "LENSFLOW_AMAP_TIMEOUT",
    "LENSFLOW_AMAP_URL",
    "LENSFLOW_TAOBAO_RETRIES",
    "LENSFLOW_TAOBAO_TIMEOUT",
    "LENSFLOW_TAOBAO_SIGN_METHOD",
    "LENSFLOW_PAYMENT_LIMIT",
    "LENSFLOW_WAKE_PHRASES",
    "LENSFLOW_BRIDGE_TOKENS",
    "LENSFLOW_ASR_URL",
    "LENSFLOW_HUD_FONT",
]
setting_values = st.one_of(
    st.sampled_from(["", " ", "0", "-1", "1e999", "nan", "abc", "10", "0.5", "http://127.0.0.1:9/v1", "ftp://x", "☃"]),
    st.sampled_from(WORDS),
    st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30),
)
environments = st.dictionaries(st.sampled_from(SETTINGS), setting_values, max_size=5)


@examples(60)
@given(environments)
def test_lensflow_variables_are_read_or_refused_as_config_errors(values: dict[str, str]) -> None:
    errors = feed("environment", "environment", values, show=values)
    for reader, message in errors.items():
        assert "\n" not in message, (reader, message)


@examples(2)
@given(environments, st.sampled_from(["ask", "translate"]))
def test_simulate_and_route_with_those_variables(values: dict[str, str], flow: str) -> None:
    folder = Path(tempfile.mkdtemp(dir=SCRATCH))
    root = Path(__file__).parents[2]
    (folder / "s.yaml").write_text("slots: {question: what is this}\nevents:\n  - {at: 1s, say: what is this}\n")
    args = ("simulate", str(root / "flows" / f"{flow}.yaml"), "--scenario", "s.yaml", "--out", "o", "--no-audio")
    cli("environment_cli", *args, cwd=folder, env=values, show=values)
    cli(
        "environment_cli",
        "route",
        "translate hello to french",
        "--flows",
        str(root / "flows"),
        "--json",
        cwd=folder,
        env=values,
        show=values,
    )


# -- utterances ----------------------------------------------------------------------------------------

AWAITING = st.one_of(
    st.none(),
    st.sampled_from(["confirm", "collect:amount", "collect:target_lang", "collect:destination", "collect:nope", "x"]),
)


@examples(300)
@given(utterances, st.one_of(st.none(), st.sampled_from(FLOW_IDS)), AWAITING)
def test_any_utterance_is_routed(text: str, active: str | None, awaiting: str | None) -> None:
    feed("utterance", "route", text, active, awaiting, timeout=5, show=(text, active, awaiting))


@examples(3)
@given(utterances.filter(lambda t: t.strip() and not t.startswith("-") and "\x00" not in t))
def test_route_from_the_command_line(text: str) -> None:
    folder = Path(tempfile.mkdtemp(dir=SCRATCH))
    flows = str(Path(__file__).parents[2] / "flows")
    proc = cli("utterance_cli", "route", text, "--flows", flows, "--json", cwd=folder, show=text)
    assert proc.returncode == 0, proc.stderr


# -- CEL guards ---------------------------------------------------------------------------------------

ATOMS = [
    "slots.amount",
    "slots.merchant",
    "vars.n",
    "vars.items",
    "event.text",
    "event.lat",
    "error.code",
    "session.id",
    "device.display",
    "1",
    "0",
    "-1",
    "2.5",
    "1e308",
    "9223372036854775807",
    "'x'",
    "''",
    "'付款'",
    "true",
    "null",
    "[1, 2, 3]",
    "{'a': 1}",
    "b'x'",
    "has(vars.n)",
    "size(vars.items)",
    "int('12')",
    "double(slots.amount)",
    "string(vars.n)",
    "duration('1s')",
    "timestamp('2024-01-01T00:00:00Z')",
    "event.text.contains('pay')",
    "event.text.matches('^(a+)+$')",
    "[1, 2, 3].map(x, x * 2)",
    "vars.items.filter(x, x > 1)",
    "vars.items.exists(x, x == 2)",
    "vars.items.all(x, [1, 2].exists(y, y == x))",
]
OPS = ["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", " in "]


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 5 if depth < 3 else 0))
    if kind <= 1:
        return draw(st.sampled_from(ATOMS))
    if kind == 2:
        return f"{draw(expressions(depth + 1))} {draw(st.sampled_from(OPS))} {draw(expressions(depth + 1))}"
    if kind == 3:
        return f"({draw(expressions(depth + 1))})"
    if kind == 4:
        return f"{draw(expressions(depth + 1))} ? {draw(expressions(depth + 1))} : {draw(expressions(depth + 1))}"
    return (
        draw(st.sampled_from(["!", "-", "size(", "string(", "int("]))
        + draw(expressions(depth + 1))
        + (")" if draw(st.booleans()) else "")
    )


guard_texts = st.one_of(
    expressions(),
    expressions(),
    st.text(alphabet="()[]{}.,'\"!?:<>=+-*/%&| abxyz019_", max_size=60),
    st.lists(st.sampled_from(ATOMS), min_size=1, max_size=3).map(lambda a: "{{ " + " }} and {{ ".join(a) + " }}"),
)
scopes = st.fixed_dictionaries(
    {
        "slots": st.dictionaries(st.sampled_from(["amount", "merchant"]), json_values, max_size=2),
        "vars": st.fixed_dictionaries(
            {}, optional={"n": json_values, "items": st.lists(st.integers(-3, 3), max_size=50)}
        ),
        "event": st.dictionaries(st.sampled_from(["text", "lat"]), st.one_of(utterances, json_values), max_size=2),
        "error": st.just({"code": "TIMEOUT"}),
    }
)


@examples(300)
@given(guard_texts, scopes)
def test_any_guard_is_evaluated_or_refused(text: str, scope: dict[str, Any]) -> None:
    feed("cel_guard", "guard", text, scope, "{{" in text, timeout=5, show=(text, scope))
