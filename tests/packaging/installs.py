"""Building Lensflow's wheel and installing it as a user would, without a network.

The wheel is built from a copy of what pyproject.toml packages (a checkout's stale build/ or
egg-info cannot leak into it). The install is a fresh venv holding the wheel, plus the
base dependencies only (no extra): their files are linked from this environment, so
nothing is downloaded and every extra's package is really absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support import ROOT

__all__ = [
    "PYPROJECT",
    "BaseInstall",
    "build_wheel",
    "install_base",
    "packaged_top_levels",
    "wheel_names",
]

PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def packaged_top_levels() -> tuple[list[str], list[str]]:
    """(top-level packages, top-level modules) that pyproject.toml puts in the wheel."""
    setuptools = PYPROJECT["tool"]["setuptools"]
    packages = [name for name in setuptools["packages"]["find"]["include"] if "." not in name and "*" not in name]
    return packages, list(setuptools.get("py-modules", []))


def _builds_offline() -> bool:
    """Whether this environment can build without fetching the build backend (pip's isolated build does)."""
    for text in PYPROJECT["build-system"]["requires"]:
        wanted = Requirement(text)
        try:
            have = distribution(wanted.name).version
        except PackageNotFoundError:
            return False
        if not wanted.specifier.contains(have, prereleases=True):
            return False
    try:
        return Version(distribution("setuptools").version) >= Version("70.1")  # bdist_wheel without `wheel`
    except PackageNotFoundError:
        return False


def build_wheel(folder: Path) -> Path:
    """`pip wheel --no-deps` of a clean copy of the sources; returns the .wheel file."""
    source = folder / "source"
    source.mkdir(parents=True)
    packages, modules = packaged_top_levels()
    for name in ("pyproject.toml", "README.md", *(f"{m}.py" for m in modules)):
        shutil.copy2(ROOT / name, source / name)
    for name in packages:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q"]
    if _builds_offline():
        command.append("--no-build-isolation")
    command += ["-w", str(folder / "dist"), str(source)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = (folder / "dist").glob("lensflow-*.whl")
    return wheel


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _base_requirements(wheel: Path) -> list[Requirement]:
    """The wheel's own Requires-Dist lines that hold without any extra."""
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(meta).decode("utf-8").splitlines()
    wanted = [Requirement(line.split(":", 1)[1]) for line in lines if line.startswith("Requires-Dist:")]
    return [r for r in wanted if r.marker is None or r.marker.evaluate({"extra": ""})]


def _closure(requirements: list[Requirement]) -> dict[str, Any]:
    """Every distribution the requirements need in this environment, with their own extras followed."""
    found: dict[str, Any] = {}
    todo = [(r, frozenset(r.extras)) for r in requirements]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        wanted, extras = todo.pop()
        key = (canonicalize_name(wanted.name), extras)
        if key in seen:
            continue
        seen.add(key)
        dist = distribution(wanted.name)  # absent here: this environment is not a full install
        found[key[0]] = dist
        for text in dist.requires or []:
            child = Requirement(text)
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in (*extras, "")):
                todo.append((child, frozenset(child.extras)))
    return found


class BaseInstall:
    """A venv with the wheel installed (`--no-deps`) and the base dependencies beside it, none of the extras."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.venv = folder / "venv"
        self.bin = self.venv / "bin"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "LENSFLOW_"))}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", PYTHONNOUSERSITE="1", PYTHONSAFEPATH="1")
        return env

    def run(self, *args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """A command of the installed venv (`lensflow ...`, `python ...`), run from `cwd`."""
        program = str(self.bin / args[0])
        return subprocess.run(
            [program, *args[1:]], cwd=cwd, env=self.env(), capture_output=True, text=True, timeout=timeout
        )


def install_base(wheel: Path, folder: Path) -> BaseInstall:
    """Install the wheel into a fresh venv and link in the base dependencies from this environment."""
    install = BaseInstall(folder)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(install.venv)], check=True, timeout=120)
    pip = [sys.executable, "-m", "pip", "--python", str(install.bin / "python"), "--disable-pip-version-check"]
    proc = subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    linked = folder / "base-dependencies"
    linked.mkdir()
    for dist in _closure(_base_requirements(wheel)).values():
        site = Path(str(dist.locate_file("")))
        tops = {Path(str(f)).parts[0] for f in dist.files or () if not str(f).startswith("..")}
        for top in tops:
            if not (linked / top).exists():
                (linked / top).symlink_to(site / top)
    (site_packages,) = install.venv.glob("lib/python*/site-packages")
    (site_packages / "lensflow-base-dependencies.pth").write_text(f"{linked}\n", encoding="utf-8")
    return install
