"""The import lines of docs/architecture.md, and the test tree's own layout, hold.

The contracts themselves live in pyproject.toml (`[tool.importlinter]`) and are
checked by import-linter, which counts imports inside functions too. What it cannot
express is checked here on the syntax tree: the exact allow-list of engine/language,
that no module imports cli.py, and that no test module is used as a library. The
fast commands are run in a fresh interpreter and their loaded modules inspected.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT

SOURCE = ("engine", "devices", "skills", "commands", "flowtests", "backends", "studio")
# engine/language may use, of the project, only itself and these root modules of engine/.
LANGUAGE_MAY_IMPORT = {
    "engine.findings",
    "engine.errors",
    "engine.limits",
    "engine.settings",
    "engine.files",
    "engine.jsonout",
}


def imports_of(path: Path) -> Iterator[tuple[str, int]]:
    """Every module a file imports, wherever the import statement stands (top level or inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno
            for alias in node.names:  # `from tests.support import photos` imports tests.support.photos
                yield f"{node.module}.{alias.name}", node.lineno


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py") if "fixtures" not in p.parts)


def test_the_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(lint), "--no-cache", "--no-logo"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout, proc.stdout


def test_engine_language_imports_only_its_allowed_neighbours() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in python_files("engine/language")
        for module, line in imports_of(path)
        if module.split(".")[0] in (*SOURCE, "cli")
        and not module.startswith("engine.language")
        and not any(module == ok or module.startswith(ok + ".") for ok in LANGUAGE_MAY_IMPORT)
    ]
    assert wrong == []


def test_nothing_but_the_entry_point_imports_the_cli() -> None:
    """cli.py is imported by no module; commands/ only by cli.py (and by its own modules)."""
    wrong = []
    for path in python_files(*SOURCE, "bench"):
        top = path.relative_to(ROOT).parts[0]
        for module, line in imports_of(path):
            root = module.split(".")[0]
            if root == "cli" or (root == "commands" and top != "commands"):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert wrong == []


@pytest.mark.parametrize(
    "args",
    [["validate", "--format", "json", "flows"], ["graph", "flows/glance_pay.yaml"], ["rules", "--json"], ["schema"]],
    ids=lambda args: args[0],
)
def test_a_fast_command_loads_neither_langgraph_nor_openai_nor_a_web_server(args: list[str]) -> None:
    code = (
        f"import sys; sys.argv = ['cli.py', *{args!r}]\n"
        "import cli\n"
        "try:\n    cli.main(sys.argv[1:])\nfinally:\n"
        "    heavy = sorted({m.split('.')[0] for m in sys.modules} & {'langgraph', 'openai', 'starlette', 'uvicorn'})\n"
        "    print('HEAVY', heavy, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in proc.stderr, proc.stderr[-2000:]


# -- the test tree ---------------------------------------------------------------------------


def test_no_test_module_is_imported_as_a_library() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in python_files("tests", "bench")
        for module, line in imports_of(path)
        if module.startswith("tests.")
        and (module.split(".")[-1].startswith("test_") or module.split(".")[-1] == "conftest")
    ]
    assert wrong == []


def test_conftest_files_hold_only_fixtures_and_hooks() -> None:
    for path in ROOT.joinpath("tests").rglob("conftest.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                fixture = any("fixture" in ast.unparse(d) for d in node.decorator_list)
                assert fixture or node.name.startswith("pytest_"), f"{path.relative_to(ROOT)}: {node.name} is a helper"
            elif isinstance(node, ast.ClassDef):
                raise AssertionError(f"{path.relative_to(ROOT)}: class {node.name} belongs in tests/support")


PROJECT_WIDE = ("test_architecture.py", "test_private_names.py", "test_type_check.py")


def test_tests_of_a_source_folder_sit_at_its_mirror_path() -> None:
    """tests/engine/runtime/test_x.py tests engine/runtime/: every such folder exists in the source tree."""
    mirrored = ("engine", "devices", "skills", "commands", "flowtests", "backends", "studio")
    wrong = []
    for path in ROOT.joinpath("tests").rglob("test_*.py"):
        parts = path.relative_to(ROOT / "tests").parts
        if parts[0] in mirrored and not ROOT.joinpath(*parts[:-1]).is_dir():
            wrong.append(str(path.relative_to(ROOT)))
        elif len(parts) == 1 and path.name not in PROJECT_WIDE:
            wrong.append(str(path.relative_to(ROOT)))  # a project-wide test; everything else has a home
    assert wrong == []
