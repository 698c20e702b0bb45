"""Docs generated from the code must match it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from engine.checks.reporting import rules_markdown
from engine.checks.validate import RULES  # noqa: F401  (registers every rule)
from tests.support import ROOT


def test_rule_reference_is_up_to_date() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_markdown(), "run: python cli.py rules --markdown > docs/rules.md"


def test_reference_is_generated_from_the_schemas_and_up_to_date() -> None:
    from engine.designer.reference import reference_markdown
    from engine.language.catalog import load_catalog

    generated = reference_markdown()
    current = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert current == generated, "run: python cli.py reference > docs/reference.md"
    catalog = load_catalog()
    for name in [*catalog.events, *catalog.actions, *catalog.skills, *catalog.profiles]:
        assert f"| `{name}` |" in generated, name
    for key in ("flow_started", "invoke_called", "llm_calls", "on_yes", "idempotency_key", "unconfirmed-payment"):
        assert f"`{key}`" in generated, key
    assert "|  |\n" not in generated.replace("| yes |  |", "")  # every key says what it means


def test_the_tutorial_flow_passes_everything_the_tutorial_runs(tmp_path) -> None:
    from tests.support.cli import run_cli

    example = ROOT / "docs" / "examples" / "tutorial"
    flow = example / "parking_spot.yaml"
    assert run_cli("validate", "--strict", str(flow)).returncode == 0
    tests = run_cli("test", str(example))
    assert tests.returncode == 0 and "4 passed" in tests.stdout, tests.stdout
    explored = run_cli("explore", str(flow), "--min-coverage", "100")
    assert explored.returncode == 0, explored.stdout
    # the error the tutorial shows is the one a designer gets
    typo = tmp_path / "parking_spot.yaml"
    typo.write_text(flow.read_text().replace("target: asking_note", "target: asking_not"))
    shown = run_cli("validate", str(typo)).stdout
    tutorial = (ROOT / "docs" / "tutorial.md").read_text()
    message = shown.splitlines()[0].split(" ", 1)[1]
    assert message in tutorial and ":23:17" in shown.splitlines()[0]
    # the tutorial's states are the example's
    assert '    output: {photo: "{{ vars.saved.path }}", note: "{{ slots.note }}"}' in tutorial
    assert '    output: {photo: "{{ vars.saved.path }}", note: "{{ slots.note }}"}' in flow.read_text()


def test_the_tutorial_shows_the_scenario_it_runs(tmp_path) -> None:
    from tests.support.cli import run_cli

    scenario = ROOT / "docs" / "examples" / "tutorial" / "parking_spot.scenario.yaml"
    tutorial = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    body = "".join(line for line in scenario.read_text(encoding="utf-8").splitlines(True) if not line.startswith("#"))
    assert f"```yaml\n{body}```" in tutorial
    assert "--scenario parking_spot.scenario.yaml" in tutorial
    flow = ROOT / "docs" / "examples" / "tutorial" / "parking_spot.yaml"
    proc = run_cli("simulate", str(flow), "--scenario", str(scenario), "--out", str(tmp_path), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_reference_reads_well_where_it_used_to_say_nothing() -> None:
    from engine.designer.reference import reference_markdown

    text = reference_markdown()
    link = text.split("### `link`", 1)[1].split("###", 1)[0]
    assert "| `flow` | string | yes | Id of the flow that takes over. |" in link
    assert "Written as a flow id (`link: other_flow`), or as a mapping" in link
    assert "object or object" not in text
    assert "| `expect` | list of assertions (below) | yes |" in text
    for key in ("output_schema", "rejections", "llm"):
        row = next(r for r in text.splitlines() if r.startswith(f"| `{key}` |") and "Example: `" in r)
        assert row
    assert "a flow id looked up among the flows in the folder above `tests/`" in text.replace("\n", " ")


# -- every file, module and name the docs point at exists ------------------------------------------
_CODE_ROOTS = ("engine", "devices", "skills", "commands", "flowtests", "tests", "bench")
_PATH = re.compile(r"(?<![\w/.-])((?:" + "|".join(_CODE_ROOTS) + r")(?:[./][A-Za-z_][\w*-]*)+/?)")
_METHOD = re.compile(r"`([A-Z]\w*)\.(\w+)")  # `Runner.send`, `DeviceSession.on_event(seq ...)`
_FILE_SUFFIXES = (".py", ".yaml", ".yml", ".json", ".csv", ".md", ".toml", ".txt", ".png", ".xml", ".js", ".mjs")


def _doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _top_names(tree: ast.Module) -> dict[str, ast.ClassDef | None]:
    """What a module defines or imports at its top level (classes kept, to look inside them)."""
    names: dict[str, ast.ClassDef | None] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update({(a.asname or a.name).split(".")[0]: None for a in node.names})
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update({t.id: None for t in targets if isinstance(t, ast.Name)})
    return names


def _class_index() -> dict[str, list[ast.ClassDef]]:
    index: dict[str, list[ast.ClassDef]] = {}
    for root in ("engine", "devices", "skills", "commands", "flowtests"):
        for file in (ROOT / root).rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    index.setdefault(node.name, []).append(node)
    return index


def _set_on_self(cls: ast.ClassDef) -> set[str]:
    """Attributes a method of the class assigns (`self.deferred = ...`)."""
    return {
        node.attr
        for node in ast.walk(cls)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


def _has_member(cls: ast.ClassDef, name: str, index: dict[str, list[ast.ClassDef]], seen: set[str]) -> bool:
    """`name` is defined in the class body, set on `self` in a method, or comes from a project base
    (the interpreter's mixins)."""
    if name in _set_on_self(cls):
        return True
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets):
            slots = {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)}
            if name in slots:
                return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return True
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
    for base in cls.bases:
        base_name = base.id if isinstance(base, ast.Name) else ""
        if base_name and base_name not in seen:
            seen.add(base_name)
            if any(_has_member(b, name, index, seen) for b in index.get(base_name, ())):
                return True
    return False


def _resolves(reference: str, index: dict[str, list[ast.ClassDef]]) -> bool:
    """A path, or a module path followed by a name (`devices/datum.fix_in_map_datum`), exists."""
    if reference.endswith("/") or reference.endswith(_FILE_SUFFIXES):
        if "*" in reference:
            return any(ROOT.glob(reference))
        return (ROOT / reference).exists()
    parts = re.split(r"[./]", reference)
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        module = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if not module.is_file():
            if base.is_dir() and cut == len(parts):
                return True
            continue
        rest = parts[cut:]
        if not rest:
            return True
        defined = _top_names(ast.parse(module.read_text(encoding="utf-8")))
        if rest[0] not in defined:
            return (base / rest[0]).exists() or base.joinpath(rest[0]).with_suffix(".py").exists()
        cls = defined[rest[0]]
        return len(rest) == 1 or cls is None or _has_member(cls, rest[1], index, set())
    return False


def test_every_path_and_name_the_docs_give_exists() -> None:
    """A contributor follows the docs into the code: each file, module, function and method they name is there."""
    index = _class_index()
    missing = []
    for doc in _doc_files():
        text = doc.read_text(encoding="utf-8")
        for match in _PATH.finditer(text):
            reference = match.group(1).rstrip(".*")  # a path in bold: **engine/runtime/step.py**
            if "/" not in reference and reference.endswith(_FILE_SUFFIXES):
                continue  # a link to a page beside this one (`skills.md`)
            if not _resolves(reference, index):
                missing.append(f"{doc.relative_to(ROOT)}: {reference}")
        for cls_name, member in _METHOD.findall(text):
            classes = index.get(cls_name)
            if classes and not any(_has_member(c, member, index, set()) for c in classes):
                missing.append(f"{doc.relative_to(ROOT)}: {cls_name}.{member}")
    assert not missing, "the docs name what the code does not have:\n" + "\n".join(sorted(set(missing)))


def test_the_docs_path_check_finds_what_is_gone() -> None:
    """The check above is not vacuous: a moved file, a renamed function and a renamed method are caught."""
    index = _class_index()
    assert _resolves("engine/runtime/runner.py", index) and _resolves("devices/datum.fix_in_map_datum", index)
    assert _resolves("engine.runtime.step.Interpreter.step", index)  # from the EntryPoints mixin
    assert not _resolves("skills/data/products.csv", index)
    assert not _resolves("devices/datum.no_such_function", index)
    assert not _resolves("engine/runtime/runner.Runner._no_such_method", index)
    assert not _resolves("engine/interpreter.py", index)
