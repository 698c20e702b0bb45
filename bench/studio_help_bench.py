"""Studio completion and hover latency: what an editor waits for after Ctrl-Space or a still pointer.

A `cli.py studio` process serves a copy of the shipped flows; `POST /api/flows/navigate/complete` and
`/hover` are called at every caret a designer completes at most (after each `target: `, at the end of
each `on:`) of the ~240-line navigate flow, and completion inside its templates and guards (after the
first `.` of each `{{ root.` and `if: "root.`), `--rounds` times. Target: well under the page's 500 ms hover
wait, and quick enough to follow typing (one request per keystroke while the list is open).

Usage: python bench/studio_help_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.support.flows import shipped_flows  # noqa: E402
from tests.support.studio import start_studio, stop_studio  # noqa: E402

FLOW = "navigate"
BUDGET_MS = 50.0


def carets(text: str) -> list[tuple[int, int]]:
    """(line, column) after each `target: ` and at the end of each `on:` line."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        if "target: " in line:
            found.append((number, line.index("target: ") + len("target: ") + 1))
        elif line.strip() == "on:":
            found.append((number, len(line) + 1))
    return found


def expression_carets(text: str) -> list[tuple[int, int]]:
    """(line, column) just after the root's dot in each `{{ root.` and each guard's first `root.`."""
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        for match in re.finditer(r"(\{\{\s*|if:\s*['\"]!?(?:has\()?)[a-z]+\.", line):
            found.append((number, match.end() + 1))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_studio(shipped_flows(Path(tmp)))
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                text = client.get(f"/api/flows/{FLOW}").json()["text"]
                where = carets(text)
                print(f"{FLOW}: {len(text.splitlines())} lines, {len(where)} carets x {args.rounds} rounds")
                inside = expression_carets(text)
                print(f"and {len(inside)} carets in templates and guards")
                for call, at in (("complete", where), ("hover", where), ("complete", inside)):
                    samples = []
                    for _ in range(args.rounds):
                        for line, column in at:
                            began = time.perf_counter()
                            reply = client.post(
                                f"/api/flows/{FLOW}/{call}", json={"text": text, "line": line, "column": column}
                            )
                            samples.append((time.perf_counter() - began) * 1000)
                            assert reply.status_code == 200, reply.text
                    samples.sort()
                    p99 = samples[min(len(samples) - 1, round(0.99 * (len(samples) - 1)))]
                    worst = max(worst, p99)
                    call = call if at is where else "in {{ }}"
                    print(f"{call:<9} p50 {statistics.median(samples):5.1f} ms  p99 {p99:5.1f} ms")
        finally:
            stop_studio(proc)
    print(f"worst p99 {worst:.1f} ms: target {BUDGET_MS:.0f} ms: {'OK' if worst <= BUDGET_MS else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
