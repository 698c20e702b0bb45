"""Every rule has a broken example it must catch (at the marked line) and a valid one it must pass.

Fixtures live in tests/fixtures/rules/<rule>/{bad,good}/. In a bad file, a comment
`# expect: <rule>` marks each line where a finding of that rule must appear.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine.checks.base import RULES
from engine.checks.config import Config
from engine.checks.validate import validate_paths
from tests.support import FIXTURES

RULES_DIR = FIXTURES / "rules"
EXPECT = re.compile(rb"# expect: ([a-z-]+(?:, *[a-z-]+)*)")
# internal-error has no fixture by design: it only appears when a rule itself is broken.
UNTESTABLE = {"internal-error"}


def _dirs(kind: str) -> list[Path]:
    return sorted(p for p in RULES_DIR.glob(f"*/{kind}") if p.is_dir())


def _validate(folder: Path) -> Any:
    """Validate an example folder; older versions of its flows, if the rule needs them, are in `../previous`."""
    previous = folder.parent / "previous"
    return validate_paths([str(folder)], Config(), previous=[str(previous)] if previous.is_dir() else None)


def test_every_rule_has_a_bad_and_a_good_example() -> None:
    for slug in set(RULES) - UNTESTABLE:
        assert (RULES_DIR / slug / "bad").is_dir(), f"no broken example for {slug}"
        assert (RULES_DIR / slug / "good").is_dir(), f"no valid example for {slug}"


@pytest.mark.parametrize("folder", _dirs("bad"), ids=lambda p: p.parent.name)
def test_broken_examples_are_caught_where_marked(folder: Path) -> None:
    result = _validate(folder)
    found = {(Path(f.file).name, f.line, f.rule) for f in result.findings}
    expected = set()
    for path in sorted(folder.glob("*.yaml")):
        for number, line in enumerate(path.read_bytes().splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                for rule in match.group(1).decode().split(","):
                    expected.add((path.name, number, rule.strip()))
    assert expected, f"{folder} has no '# expect:' markers"
    assert any(rule == folder.parent.name for _, _, rule in expected)
    missing = expected - found
    assert not missing, f"not reported: {sorted(missing)}; got {sorted(found)}"
    # Every finding is one the fixture expects: no cascade of other rules.
    unexpected = found - expected
    assert not unexpected, f"unexpected findings: {sorted(unexpected)}"


@pytest.mark.parametrize("folder", _dirs("good"), ids=lambda p: p.parent.name)
def test_valid_examples_pass_without_any_finding(folder: Path) -> None:
    result = _validate(folder)
    assert result.findings == [], [(f.file, f.line, f.rule, f.message) for f in result.findings]


def test_findings_name_the_flow_and_state() -> None:
    result = validate_paths([str(RULES_DIR / "dead-end" / "bad")], Config())
    (finding,) = result.findings
    assert finding.flow == "dead_end_bad_stuck"
    assert finding.state == "waiting"
    assert "type: final" in finding.message
