"""Installing small plugin packages for tests: the files an installed wheel leaves in site-packages, written out.

A folder holding `package/...` and `name-version.dist-info/` (METADATA, entry_points.txt) is what pip leaves for
a wheel; put on `sys.path` (or PYTHONPATH), importlib.metadata finds its entry points as it finds any installed
distribution's.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

from tests.support import ROOT

__all__ = ["EXAMPLE", "GOOD_SKILL", "GOOD_SKILLS_CODE", "write_example", "write_plugin"]

EXAMPLE = ROOT / "docs" / "examples" / "plugin" / "lensflow-hello"

GOOD_SKILL: dict[str, Any] = {
    "description": "Echo a word back.",
    "input": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]},
    "output": {"type": "object", "properties": {"echo": {"type": "string"}}},
    "permissions": ["network"],
    "errors": ["NO_ECHO", "TIMEOUT"],
}

GOOD_SKILLS_CODE = """
async def echo(args, ctx):
    return {"echo": args["word"]}

SKILLS = {"%s": echo}
"""


def write_plugin(
    site: Path,
    dist: str,
    package: str,
    *,
    skills: dict[str, Any] | str | None = None,
    skills_entry: str | None = None,
    code: str = "",
    init: str = "",
    profiles: dict[str, str] | None = None,
    devices_entry: str | None = None,
) -> None:
    """Write an installed plugin distribution `dist` with top-level `package` under `site`.

    `skills`: the catalog.json content (a string is written as is); `code`: the package's skills.py;
    `profiles`: file name -> YAML text under profiles/; the entry points default to `package.skills:SKILLS`
    and `package`, named after the package.
    """
    folder = site / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(init, encoding="utf-8")
    entries = []
    if skills is not None:
        text = skills if isinstance(skills, str) else json.dumps(skills)
        (folder / "catalog.json").write_text(text, encoding="utf-8")
        (folder / "skills.py").write_text(code, encoding="utf-8")
        entries.append(f"[lensflow.skills]\n{skills_entry or f'{package} = {package}.skills:SKILLS'}\n")
    if profiles is not None:
        (folder / "profiles").mkdir()
        for name, text in profiles.items():
            (folder / "profiles" / name).write_text(text, encoding="utf-8")
        entries.append(f"[lensflow.devices]\n{devices_entry or f'{package} = {package}'}\n")
    info = site / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("\n".join(entries), encoding="utf-8")


def write_example(site: Path) -> None:
    """The sample plugin (docs/examples/plugin/lensflow-hello) as its wheel installs it: package and entry points."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    shutil.copytree(EXAMPLE / "lensflow_hello", site / "lensflow_hello", ignore=shutil.ignore_patterns("__pycache__"))
    info = site / f"lensflow_hello-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n", encoding="utf-8"
    )
    groups = project["entry-points"]
    text = "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in groups[group].items()) for group in groups)
    (info / "entry_points.txt").write_text(text, encoding="utf-8")
