"""Machine-readable reports of findings: JSON, SARIF 2.1.0, JUnit XML, GitHub annotations.

Plain data in, text out; the human (rich) report lives with the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from engine.checks.base import RULES
from engine.findings import Finding, Severity

__all__ = ["TOOL_NAME", "TOOL_URI", "rules_markdown", "to_github", "to_json", "to_junit", "to_sarif"]

TOOL_NAME = "lensflow"
TOOL_URI = "https://github.com/lensflow/lensflow"


def to_json(files: int, findings: list[Finding]) -> str:
    return json.dumps({"files": files, "findings": [f.as_dict() for f in findings]}, ensure_ascii=False, indent=2)


def _sarif_level(severity: Severity) -> str:
    return {"error": "error", "warning": "warning", "info": "note"}[severity.value]


def _region(f: Finding) -> dict[str, int]:
    region = {"startLine": f.line, "startColumn": f.column}
    if f.end_line is not None and f.end_column is not None:
        region |= {"endLine": f.end_line, "endColumn": f.end_column}  # SARIF's end column is exclusive too
    return region


def to_sarif(files: int, findings: list[Finding]) -> str:
    rules = [
        {
            "id": rule.slug,
            "shortDescription": {"text": rule.summary},
            "defaultConfiguration": {"level": _sarif_level(rule.severity)},
            "helpUri": f"{TOOL_URI}/blob/main/docs/rules.md#{rule.slug}",
        }
        for rule in sorted(RULES.values(), key=lambda r: r.slug)
    ]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _sarif_level(f.severity),
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": Path(f.file).as_posix()},
                        "region": _region(f),
                    }
                }
            ],
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        results.append(result)
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {"tool": {"driver": {"name": TOOL_NAME, "informationUri": TOOL_URI, "rules": rules}}, "results": results}
        ],
    }
    return json.dumps(sarif, ensure_ascii=False, indent=2)


def to_junit(file_names: list[str], findings: list[Finding], strict: bool = False) -> str:
    """One test case per file; it fails when the file has an error (or a warning with --strict)."""
    by_file: dict[str, list[Finding]] = {name: [] for name in file_names}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    failing_levels = {Severity.ERROR, Severity.WARNING} if strict else {Severity.ERROR}
    suite = ElementTree.Element("testsuite", name="lensflow validate")
    failures = 0
    for name, items in by_file.items():
        case = ElementTree.SubElement(suite, "testcase", classname="lensflow.validate", name=name)
        failing = [f for f in items if f.severity in failing_levels]
        if failing:
            failures += 1
            failure = ElementTree.SubElement(
                case, "failure", message=f"{len(failing)} problem(s)", type=failing[0].rule
            )
            failure.text = "\n".join(
                f"{f.file}:{f.line}:{f.column}: {f.severity.value} [{f.rule}] {f.message}" for f in items
            )
        elif items:
            out = ElementTree.SubElement(case, "system-out")
            out.text = "\n".join(
                f"{f.file}:{f.line}:{f.column}: {f.severity.value} [{f.rule}] {f.message}" for f in items
            )
    suite.set("tests", str(len(by_file)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    root = ElementTree.Element("testsuites")
    root.append(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands: annotations on the pull request's files."""
    lines = []
    for f in findings:
        command = {"error": "error", "warning": "warning", "info": "notice"}[f.severity.value]
        props = f"file={_escape_property(f.file)},line={f.line},col={f.column},title={_escape_property(f.rule)}"
        lines.append(f"::{command} {props}::{_escape_data(f.message)}")
    return "\n".join(lines)


def rules_markdown() -> str:
    """The rule reference, generated from the registry so it cannot drift (docs/rules.md)."""
    lines = [
        "# Validation rules",
        "",
        "Generated by `python cli.py rules --markdown`; do not edit by hand.",
        "Turn a rule off or change its level in `pyproject.toml` (`[tool.lensflow.rules]`), or on one line",
        "with `# lensflow: ignore[rule]` (see docs/validator.md).",
        "",
        "| rule | default | scope | what it catches |",
        "| --- | --- | --- | --- |",
    ]
    for rule in sorted(RULES.values(), key=lambda r: (r.scope != "source", r.slug)):
        anchor = f'<a id="{rule.slug}"></a>'
        lines.append(f"| {anchor}`{rule.slug}` | {rule.severity.value} | {rule.scope} | {rule.summary} |")
    return "\n".join(lines) + "\n"
