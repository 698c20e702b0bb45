"""Private names stay in their module: no `from x import _name`, and no `obj._name` for a name the
module itself does not define (a mixin's `self._x` is the class's own business)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

PACKAGES = ("engine", "skills", "devices", "flowtests", "commands")

def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _defined(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, attributes it assigns (self._x = ...), annotations."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if _private(n)}


def _crossings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = _defined(tree)
    where = path.relative_to(ROOT)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
            found += [
                f"{where}:{node.lineno}: imports {a.name}"
                for a in node.names
                if _private(a.name)
            ]
        elif (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and node.attr not in own
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
        ):
            found.append(f"{where}:{node.lineno}: reads .{node.attr}")
    return found


def test_no_private_name_crosses_a_module() -> None:
    crossings = [c for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py")) for c in _crossings(path)]
    assert crossings == []


def test_importing_the_project_leaves_the_recursion_limit_alone() -> None:
    """No module changes interpreter-wide settings when imported (deep recursion is bounded where it happens)."""
    import subprocess
    import sys

    script = (
        "import importlib, pkgutil, sys\n"
        "before = sys.getrecursionlimit()\n"
        f"for package in {PACKAGES!r}:\n"
        "    module = importlib.import_module(package)\n"
        "    for info in pkgutil.walk_packages(module.__path__, package + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(before, sys.getrecursionlimit())\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    before, after = proc.stdout.split()
    assert before == after
