"""Inline suppressions: `# lensflow: ignore[rule, ...]` comments in a flow file.

* at the end of a line: findings on that line;
* alone on a line: findings on the next line;
* `# lensflow: ignore-file[rule]`: the whole file;
* without `[...]`: every rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["ALL", "Suppressions", "parse_suppressions"]

_COMMENT = re.compile(r"#\s*lensflow:\s*(ignore-file|ignore)(?:\[([^\]]*)\])?")
ALL = "*"


@dataclass
class Suppressions:
    by_line: dict[int, set[str]] = field(default_factory=dict)
    whole_file: set[str] = field(default_factory=set)
    named: list[tuple[int, int, str]] = field(default_factory=list)  # (line, column, rule) as written

    def hides(self, rule: str, line: int) -> bool:
        if ALL in self.whole_file or rule in self.whole_file:
            return True
        rules = self.by_line.get(line, set())
        return ALL in rules or rule in rules


def parse_suppressions(text: str) -> Suppressions:
    found = Suppressions()
    if "lensflow:" not in text:
        return found
    for number, line in enumerate(text.splitlines(), 1):
        match = _COMMENT.search(line)
        if not match:
            continue
        kind, listed = match.group(1), match.group(2)
        rules = {r.strip() for r in listed.split(",") if r.strip()} if listed is not None else {ALL}
        for rule in rules - {ALL}:
            found.named.append((number, match.start() + 1, rule))
        if kind == "ignore-file":
            found.whole_file |= rules
            continue
        own_line = not line[: match.start()].strip()
        target = number + 1 if own_line else number
        found.by_line.setdefault(target, set()).update(rules)
    return found
