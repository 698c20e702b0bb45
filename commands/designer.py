"""Designer tools: `test` (flow tests), `explore` (coverage), `graph` (diagrams) and `new` (templates)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from commands.common import EXIT_OK, EXIT_PROBLEMS, CliError, output_folder, read_flow

__all__ = ["cmd_explore", "cmd_graph", "cmd_new", "cmd_test"]


def cmd_test(args: argparse.Namespace) -> int:
    from flowtests.cases import TestFileError, find_test_files, junit_xml, run_files

    try:
        files = find_test_files(args.paths or ["flows"])
    except TestFileError as exc:
        raise CliError(str(exc)) from None
    if not files:
        raise CliError(f"no flow tests found under {', '.join(args.paths or ['flows'])}")
    keep = output_folder(args.out) if args.out else None
    results = []
    from rich.console import Console

    console = Console(highlight=False)
    for result in run_files(files, keep):
        results.append(result)
        _print_test_file(console, result)
    if args.junit:
        Path(args.junit).write_text(junit_xml(results), encoding="utf-8")
    cases = [c for r in results for c in r.cases]
    failed = sum(1 for c in cases if not c.passed) + sum(1 for r in results if r.error)
    needs = sum(1 for c in cases if c.needs is not None)
    seconds = sum(c.seconds for c in cases)
    style = "bold red" if failed else "bold green"
    console.print(
        f"[{style}]{len(cases) - needs - sum(1 for c in cases if not c.passed)} passed, {failed} failed[/]"
        + (f", [yellow]{needs} not run (an extra is not installed)[/]" if needs else "")
        + f" in {len(results)} file(s), {sum(c.checked for c in cases)} assertions, {seconds:.1f} s"
    )
    return EXIT_PROBLEMS if failed else EXIT_OK


def _print_test_file(console: Any, result: Any) -> None:
    from rich.markup import escape

    if result.error is not None:
        console.print(f"[red]ERROR[/] {escape(result.error)}", soft_wrap=True)
        return
    console.print(f"[bold]{escape(result.file)}[/] ({escape(result.flow)})", soft_wrap=True)
    for case in result.cases:
        if case.needs is not None:
            console.print(f"  [yellow]-[/] {escape(case.name)} [yellow]{escape(case.needs)}[/]", soft_wrap=True)
            continue
        mark = "[green]✓[/]" if case.passed else "[red]✗[/]"
        console.print(f"  {mark} {escape(case.name)} [dim]{case.seconds * 1000:.0f} ms[/]", soft_wrap=True)
        if case.error:
            console.print(f"      [red]{escape(case.error)}[/]", soft_wrap=True)
        for failure in case.failures:
            console.print(
                f"      [red]{escape(result.file)}:{escape(failure.removeprefix('line '))}[/]", soft_wrap=True
            )


def cmd_explore(args: argparse.Namespace) -> int:
    from engine.checks.validate import UsageError, expand_paths
    from engine.designer.explore import explore
    from engine.runnable import NotRunnable, load_runnables

    try:
        files = expand_paths(args.flows or ["flows"])
    except UsageError as exc:
        raise CliError(str(exc)) from None
    if not files:
        raise CliError(f"no flow files under {', '.join(args.flows or ['flows'])}")
    from commands.progress import tracked

    reports = []
    failed = False
    runnables = load_runnables(files)  # each flow of a folder read once, not once per flow
    for path in tracked(files, len(files), "exploring", enabled=not args.json):
        runnable = runnables[path]
        if isinstance(runnable, NotRunnable):
            raise CliError(f"{path}: cannot explore a flow that cannot run: {runnable.lines[0]}")
        compiled, main_id, _warnings = runnable
        report = explore(compiled[main_id], max_configurations=args.max_configurations)
        reports.append(report)
        below = args.min_coverage is not None and report.coverage + 1e-9 < args.min_coverage
        failed = failed or bool(report.defects) or below
    if args.json:
        from engine.jsonout import dumps

        print(dumps([r.as_dict() for r in reports], indent=2))
    else:
        _print_explorations(reports, args.min_coverage)
    return EXIT_PROBLEMS if failed else EXIT_OK


def _print_explorations(reports: list[Any], min_coverage: float | None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title="Exploration")
    for column in ("flow", "transitions", "states", "configurations", "repairs", "findings"):
        table.add_column(column, justify="left" if column == "flow" else "right")
    for r in reports:
        covered = sum(1 for b in r.branches if b.covered_by is not None)
        low = min_coverage is not None and r.coverage + 1e-9 < min_coverage
        style = "red" if low else "green" if r.coverage >= 100 else "yellow"
        table.add_row(
            r.flow,
            f"[{style}]{covered}/{len(r.branches)} ({r.coverage:.0f}%)[/]",
            f"{len(r.visited & set(r.states))}/{len(r.states)}",
            f"{r.nodes}{' (bounded)' if r.truncated else ''}",
            str(r.repairs.get("correct", 0) + r.repairs.get("back", 0)),
            f"[red]{len(r.findings)}[/]" if r.findings else "0",
        )
    console.print(table)
    for r in reports:
        if r.truncated:
            console.print(
                f"{escape(r.file)}: {escape(r.progress())}; raise --max-configurations to go further", soft_wrap=True
            )
        if r.repairs.get("questions"):
            console.print(f"{escape(r.file)}: {_repairs(r.repairs)}", soft_wrap=True)
        for branch in r.branches:
            if branch.covered_by is None:
                console.print(f"{escape(r.file)}:{branch.line}: not covered: {escape(branch.label())}", soft_wrap=True)
        for finding in r.findings:
            line = r.line_of(finding)
            where = f"{r.file}:{line}" if line else r.file
            console.print(
                f"[red]{escape(where)}: {finding.kind}[/] in {escape(finding.state)}: {escape(finding.message)}",
                soft_wrap=True,
            )
            steps = [s.describe() for s in finding.path] or ["(at start)"]
            console.print("    path: " + escape(" → ".join(steps)), soft_wrap=True)
    if min_coverage is not None:
        low = [r.flow for r in reports if r.coverage + 1e-9 < min_coverage]
        if low:
            console.print(f"[red]below {min_coverage:g}% transition coverage: {', '.join(low)}[/]")


def _repairs(counts: dict[str, int]) -> str:
    """Conversation repairs tried, in a sentence: questions met, corrections, steps back and refusals."""
    refused = (
        f", {counts['back_refused']} refused (past a payment or a saved file)" if counts.get("back_refused") else ""
    )
    return (
        f"repairs at {counts['questions']} question(s): {counts['correct']} corrections, "
        f"{counts['back']} steps back{refused}; repeat and cancel at each"
    )


def cmd_new(args: argparse.Namespace) -> int:
    """A flow from the template and its tests, both passing, ready to edit."""
    from engine.designer.scaffold import FlowExists, NotAFlowId, write_new_flow

    try:
        written = write_new_flow(args.name, Path(args.dir), force=args.force)
    except NotAFlowId as exc:
        raise CliError(exc.message) from None
    except FlowExists as exc:
        raise CliError(f"{exc.message} (use --force to overwrite)") from None
    for path in written:
        print(f"wrote {path}")
    print(f"next: python cli.py test {written[-1]}")
    return EXIT_OK


def cmd_graph(args: argparse.Namespace) -> int:
    """Draw one flow: Mermaid or DOT text (stdout by default), or an SVG/PNG image through Graphviz."""
    from engine.designer.diagram import DiagramError, render, to_dot, to_mermaid

    flow = read_flow(args.flow)
    if args.format in ("mermaid", "dot"):
        text = to_mermaid(flow) if args.format == "mermaid" else to_dot(flow)
        if args.out in (None, "-"):
            sys.stdout.write(text)
            return EXIT_OK
        data = text.encode("utf-8")
    else:
        if args.out is None and sys.stdout.isatty():  # an image is not for a terminal; nothing lands here unasked
            raise CliError(
                f"graph --format {args.format} makes an image: add --out FILE.{args.format}, "
                f"or redirect it (> FILE.{args.format})"
            )
        try:
            data = render(to_dot(flow), args.format)
        except DiagramError as exc:
            raise CliError(str(exc)) from None
        if args.out in (None, "-"):
            sys.stdout.buffer.write(data)
            return EXIT_OK
    out = Path(args.out)
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise CliError(f"{out}: cannot write ({exc.strerror or exc})") from None
    print(out)
    return EXIT_OK
