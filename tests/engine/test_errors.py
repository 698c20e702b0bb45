"""One error base: every project exception is a `LensflowError`, and the command line shows any of them
as one line (`lensflow: [file:line:column: ]message`) with exit code 2, never a traceback."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

from engine.errors import LensflowError, Location, UserError
from tests.support import ROOT
from tests.support.cli import run_cli

PACKAGES = ("engine", "skills", "devices", "flowtests", "commands")


def _project_exceptions() -> list[type[BaseException]]:
    """Every public exception class defined in the project's packages (imported, so none is missed)."""
    found: list[type[BaseException]] = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names = [package] + [m.name for m in pkgutil.walk_packages(module.__path__, f"{package}.")]
        for name in names:
            loaded = importlib.import_module(name)
            for attr, value in vars(loaded).items():
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__ == name
                    and not attr.startswith("_")
                ):
                    found.append(value)
    return found


def test_every_project_exception_is_a_lensflow_error_with_code_message_and_location() -> None:
    classes = _project_exceptions()
    assert len(classes) >= 25  # the walk really found the project's errors
    strays = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, LensflowError))
    assert strays == []
    for cls in classes:
        code = getattr(cls, "code", None)
        assert isinstance(code, str) and code, cls


def test_a_location_reads_back_as_it_was_written() -> None:
    assert str(Location.parse("flows/a.yaml:3:5")) == "flows/a.yaml:3:5"
    assert Location.parse("pyproject.toml:7") == Location("pyproject.toml", 7)
    assert Location.parse("C:/x/a.yaml") == Location("C:/x/a.yaml")
    error = UserError("no such state", Location("flows/a.yaml", 3, 5))
    assert (str(error), error.code, error.message) == ("flows/a.yaml:3:5: no such state", "ERROR", "no such state")


def _write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _cases(tmp: Path) -> list[tuple[list[str], dict[str, str], str]]:
    """(arguments, environment, what the one line starts with) for each kind of user error."""
    flow = str(ROOT / "flows" / "ask.yaml")
    broken = _write(tmp, "broken.yaml", "flow: x\nstates: [\n")
    scenario = _write(tmp, "scenario.yaml", "events:\n  - {at: 0s, say: hi, nope: 1}\n")
    toml = _write(tmp, "pyproject.toml", "[tool.lensflow]\nrules = 3\n")
    tokens = _write(tmp, "tokens.txt", "short\n")
    fine = _write(tmp, "fine.yaml", "events:\n  - {at: 0s, say: hi}\n")
    blocked = str(tmp / "a-file")
    Path(blocked).write_text("", encoding="utf-8")
    out = f"{blocked}/out"  # a folder under a file cannot be created
    return [
        (["tree", broken], {}, f"lensflow: {broken}:3:1: "),  # a flow file: SourceError via the loader
        (["run", flow, "--events", scenario], {}, f"lensflow: {scenario}:2:"),  # ScenarioError
        (["validate", "--config", toml, flow], {}, f"lensflow: {toml}:"),  # ConfigError
        (["route", "hello"], {"LENSFLOW_LLM_TIMEOUT": "soon"}, "lensflow: LENSFLOW_LLM_TIMEOUT: "),  # SettingsError
        (["chat", "--wake", ","], {}, "lensflow: --wake: "),  # WakeConfigError
        (["serve", "--tokens", tokens], {}, f"lensflow: {tokens}:1: "),  # TokenError
        (["simulate", flow, "--scenario", fine, "--out", out], {}, f"lensflow: {out}: cannot create"),
        (["test", str(ROOT / "flows"), "--out", out], {}, f"lensflow: {out}: cannot create"),
    ]


def test_each_kind_of_user_error_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    for args, env, start in _cases(tmp_path):
        proc = run_cli(*args, env={"LENSFLOW_DATA": str(tmp_path / "data"), **env}, cwd=tmp_path)
        lines = [line for line in proc.stderr.splitlines() if not line.startswith("simulate: writing")]
        assert (proc.returncode, len(lines)) == (2, 1), (args, proc.stderr)
        assert lines[0].startswith(start), (args, lines[0])
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, (args, proc.stderr)


@pytest.mark.parametrize("cls", [ValueError, OSError])
def test_errors_that_were_builtin_kinds_still_are(cls: type[BaseException]) -> None:
    """Callers catch NotAllowed as an OSError and DurationError as a ValueError: both still work."""
    from engine.files import NotAllowed
    from engine.language.durations import DurationError, parse_duration

    if cls is OSError:
        error: BaseException = NotAllowed("x", "outside the folders")
        assert isinstance(error, OSError) and error.strerror == "outside the folders"
    else:
        with pytest.raises(ValueError) as caught:
            parse_duration("soon")
        error = caught.value
        assert isinstance(error, DurationError)
    assert isinstance(error, LensflowError) and error.code
