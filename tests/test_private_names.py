"""Private names stay in their module: no `from x import _name`, and no `obj._name` for a name the
module itself does not define (a mixin's `self._x` is the class's own business)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

PACKAGES = ("engine", "skills", "devices", "flowtests", "commands", "backends", "studio")


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
            found += [f"{where}:{node.lineno}: imports {a.name}" for a in node.names if _private(a.name)]
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


def _exported(path: Path) -> set[str] | None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return {ast.literal_eval(e) for e in node.value.elts} if isinstance(node.value, ast.List) else set()
    return None


def test_every_module_declares_its_public_face() -> None:
    """Each module says what it offers (`__all__`), so a reader knows what other modules may use."""
    missing = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "__init__.py" and _exported(path) is None
    ]
    assert missing == []


def test_modules_import_only_what_another_module_offers() -> None:
    """`from engine.x import name` names something in engine.x's `__all__`, never a helper it keeps to itself."""
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES):
                    continue
                target = ROOT.joinpath(*str(node.module).split("."))
                source = target.with_suffix(".py")
                if not source.is_file():
                    continue  # a package: its submodules are imported by name
                offered = _exported(source) or set()
                wrong += [
                    f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name not in offered
                ]
    assert wrong == []
