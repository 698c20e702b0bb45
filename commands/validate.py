"""Checking flows: `validate` (and `--watch`), `rules`, `schema`, `reference` and `tree`.

None of these import langgraph or openai: they are judged on start-up time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from commands.common import EXIT_OK, EXIT_PROBLEMS, CliError, device_profile, read_flow

__all__ = ["cmd_reference", "cmd_rules", "cmd_schema", "cmd_tree", "cmd_validate"]


def _load_config(args: argparse.Namespace) -> Any:
    from engine.checks.base import RULES
    from engine.checks.config import ConfigError, find_pyproject, load_config

    if args.no_config:
        from engine.checks.config import Config

        return Config()
    if args.config:
        given = Path(args.config)
        if not given.is_file():
            raise CliError(f"{args.config}: no such config file")
        pyproject: Path | None = given
    else:
        pyproject = find_pyproject(Path.cwd())
    try:
        return load_config(pyproject, set(RULES))
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def cmd_validate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from engine.checks.validate import UsageError, validate_paths

    config = _load_config(args)
    if args.profile:
        config = replace(config, profile=device_profile(args.profile).id)
    paths = args.paths or list(config.paths)
    if args.watch:
        return _watch(paths, config, args)
    router = None
    if getattr(args, "examples", False):  # loads the embedding model: only when asked for
        from commands.distribution import require_extra
        from skills.understanding import offline_router

        require_extra("validate --examples", "offline-models")  # trigger phrases alone would judge them wrongly
        from commands.progress import show_index_progress

        show_index_progress(args.format == "text")

        router = offline_router
    try:
        result = validate_paths(paths, config, previous=getattr(args, "previous", None), example_router=router)
    except UsageError as exc:
        raise CliError(str(exc)) from None
    return _report_validation(result, args)


def _report_validation(result: Any, args: argparse.Namespace) -> int:
    failing = result.errors + (result.warnings if args.strict else 0)
    fmt = args.format
    if fmt == "json":
        from engine.checks.reporting import to_json

        print(to_json(len(result.files), result.findings))
    elif fmt == "sarif":
        from engine.checks.reporting import to_sarif

        print(to_sarif(len(result.files), result.findings))
    elif fmt == "junit":
        from engine.checks.reporting import to_junit

        print(to_junit(result.files, result.findings, args.strict))
    elif fmt == "github":
        from engine.checks.reporting import to_github

        text = to_github(result.findings)
        if text:
            print(text)
        print(_summary_plain(result, failing))
    else:
        _print_text_report(result, args.strict)
    return EXIT_PROBLEMS if failing else EXIT_OK


def _watch(paths: list[str], config: Any, args: argparse.Namespace) -> int:
    """Validate, then again on every save; each flow that still loads gets its HUD preview re-rendered."""
    from watchfiles import watch

    from engine.checks.validate import UsageError, validate_paths

    preview_root = Path(args.preview_out)
    roots = [p for p in paths if Path(p).exists()]
    if not roots:
        raise CliError(f"nothing to watch: {', '.join(paths)} not found")
    folders, wanted = _watch_targets(roots)

    def cycle(changed: list[str] | None) -> None:
        try:
            result = validate_paths(paths, config, previous=getattr(args, "previous", None))
        except UsageError as exc:
            print(f"lensflow: {exc}", file=sys.stderr)
            return
        _report_validation(result, args)
        for name in changed if changed is not None else [str(f) for f in result.files]:
            _preview_quietly(Path(name), preview_root, config.profile or "quark-display")
        print(f"watching {', '.join(roots)} (Ctrl-C to stop)", flush=True)

    cycle(None)
    try:
        recursive = any(Path(r).is_dir() for r in roots)
        for changes in watch(*folders, watch_filter=wanted, recursive=recursive, debounce=200, step=50, rust_timeout=0):
            changed = sorted({path for _, path in changes if path.endswith((".yaml", ".yml"))})
            if changed:
                print(f"\nchanged: {', '.join(changed)}", flush=True)
                cycle([c for c in changed if Path(c).exists() and "/tests/" not in c.replace(os.sep, "/")])
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _watch_targets(roots: list[str]) -> tuple[list[Path], Any]:
    """The folders to watch, and a filter keeping the changes that matter.

    A file is watched through its folder: editors that save atomically write a new
    file and rename it over the old one, and a watch on the old file's inode would
    hear nothing after the first such save."""
    folders: list[Path] = []
    files: set[Path] = set()
    trees: list[Path] = []
    for root in roots:
        path = Path(root).resolve()
        if path.is_dir():
            trees.append(path)
            folders.append(path)
        else:
            files.add(path)
            folders.append(path.parent)

    def wanted(_change: Any, name: str) -> bool:
        path = Path(name).resolve()
        return path in files or any(path.is_relative_to(tree) for tree in trees)

    return list(dict.fromkeys(folders)), wanted


def _preview_quietly(path: Path, root: Path, profile_name: str) -> None:
    """Re-render a flow's HUD preview; a flow that does not load yet is skipped (validation said why)."""
    from devices.hud.render_png import save_frame
    from devices.sim.preview import preview_flow
    from engine.language.catalog import load_catalog
    from engine.language.loader import load_flow

    loaded = load_flow(path)
    profile = load_catalog().profiles.get(profile_name)
    if loaded.built is None or not loaded.schema_ok or profile is None:
        return
    out = root / loaded.built.flow.id
    out.mkdir(parents=True, exist_ok=True)
    frames = 0
    try:
        for item in preview_flow(loaded.built.flow, profile, None):
            if item.frame is not None:
                frames += len(save_frame(item.frame, profile, out / f"{item.state}.png"))
    except Exception as exc:  # a preview must never stop the watch (a missing font, a half-written file)
        print(f"lensflow: preview of {path} failed: {exc}", file=sys.stderr)
        return
    print(f"preview: {frames} frame(s) in {out}", flush=True)


def _summary_plain(result: Any, failing: int) -> str:
    return f"lensflow: {len(result.files)} file(s), {result.errors} error(s), {result.warnings} warning(s)" + (
        "" if failing else " - ok"
    )


def _print_text_report(result: Any, strict: bool) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    cache: dict[str, list[str]] = {}
    styles = {"error": "bold red", "warning": "bold yellow", "info": "bold cyan"}
    for finding in result.findings:
        header = Text()
        header.append(f"{finding.file}:{finding.line}:{finding.column}", style="bold")
        header.append("  ")
        header.append(finding.severity.value, style=styles[finding.severity.value])
        header.append(f"  {finding.message}  ")
        header.append(f"[{finding.rule}]", style="dim")
        console.print(header)
        lines = cache.get(finding.file)
        if lines is None:
            try:
                lines = Path(finding.file).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines = []
            cache[finding.file] = lines
        console.print(_code_frame(lines, finding.line, finding.column))
    failing = result.errors + (result.warnings if strict else 0)
    summary = Text()
    if failing:
        summary.append("✖ ", style="bold red")
    else:
        summary.append("✔ ", style="bold green")
    summary.append(f"{len(result.files)} file(s) checked: {result.errors} error(s), {result.warnings} warning(s)")
    console.print(summary)


def _code_frame(lines: list[str], line: int, column: int) -> Any:
    from rich.text import Text

    frame = Text()
    if not lines or line < 1 or line > len(lines):
        return frame
    first, last = max(1, line - 1), min(len(lines), line + 1)
    width = len(str(last))
    for number in range(first, last + 1):
        marker = ">" if number == line else " "
        frame.append(f" {marker} {number:>{width}} | ", style="dim" if number != line else "bold")
        frame.append(lines[number - 1][:200] + "\n")
        if number == line:
            frame.append(" " * (width + 6) + " " * max(column - 1, 0) + "^\n", style="bold red")
    return frame


def cmd_rules(args: argparse.Namespace) -> int:
    import engine.checks.validate  # noqa: F401  (registers the rules)
    from engine.checks.base import RULES

    rows = sorted(RULES.values(), key=lambda r: (r.scope != "source", r.slug))
    if args.markdown:
        from engine.checks.reporting import rules_markdown

        print(rules_markdown(), end="")
        return EXIT_OK
    if args.json:
        print(
            json.dumps(
                [{"rule": r.slug, "severity": r.severity.value, "scope": r.scope, "summary": r.summary} for r in rows],
                indent=2,
            )
        )
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Lensflow validation rules")
    table.add_column("rule")
    table.add_column("default")
    table.add_column("what it catches")
    for r in rows:
        table.add_row(r.slug, r.severity.value, r.summary)
    Console().print(table)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from engine.language.loader import FLOW_SCHEMA

    print(FLOW_SCHEMA.read_text(encoding="utf-8"))
    return EXIT_OK


def cmd_reference(args: argparse.Namespace) -> int:
    from engine.designer.reference import reference_markdown

    print(reference_markdown(), end="")
    return EXIT_OK


def cmd_tree(args: argparse.Namespace) -> int:
    from rich.console import Console

    Console().print(_flow_tree(read_flow(args.flow)))
    return EXIT_OK


_KIND_ICON = {"final": "◉", "parallel": "⫴", "history": "Ⓗ", "compound": "▣", "atomic": "○"}


def _flow_tree(flow: Any) -> Any:
    """A rich Tree: states nested as in the flow, each with its steps and outgoing transitions."""
    from rich.text import Text
    from rich.tree import Tree

    label = Text()
    label.append(f"{flow.id}", style="bold")
    if flow.title:
        label.append(f"  {flow.title}", style="dim")
    root = Tree(label)

    def state_label(name: str) -> Text:
        state = flow.states[name]
        text = Text()
        text.append(f"{_KIND_ICON.get(state.kind, '○')} ")
        text.append(name, style="bold green" if state.kind == "final" else "bold")
        if name == flow.initial or (state.parent and flow.states[state.parent].initial == name):
            text.append("  (initial)", style="cyan")
        steps = []
        if state.invoke:
            steps.append(f"invoke {state.invoke.skill}")
        if state.collect:
            steps.append(f"collect {state.collect.slot}")
        if state.confirm:
            steps.append("confirm")
        if state.llm:
            steps.append("llm")
        if state.call:
            steps.append(f"call {state.call.flow}")
        if state.link:
            steps.append(f"link {state.link.flow}")
        if steps:
            text.append("  [" + ", ".join(steps) + "]", style="magenta")
        return text

    def add(parent: Any, name: str) -> None:
        state = flow.states[name]
        node = parent.add(state_label(name))
        for t in state.transitions:
            trigger = t.trigger if t.trigger != "after" else f"after {t.path[len(state.path) + 1]}"
            line = Text()
            line.append(f"{trigger}", style="yellow")
            if t.cond:
                line.append(f" [{t.cond}]", style="dim")
            line.append(f" → {t.target}" if t.target else " (stay)")
            node.add(line)
        for child in state.children:
            if child in flow.states and flow.states[child].parent == name:
                add(node, child)

    for name in flow.top:
        if name in flow.states:
            add(root, name)
    return root
