"""The CEL evaluation budget: what the worst guards cost when they just fit, and what the check costs.

For each shape of expensive guard, the inputs are grown until the static estimate
(`engine.language.cel_cost`) reaches the budget; the guard is then run once on the largest
inputs that still fit, and its wall time and peak memory are reported. Each case
runs in a fresh process so its peak memory is its own. The last line is the
overhead of the bound check on an everyday guard, as a same-run ratio.

Usage: python bench/cel_bounds_bench.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.language.cel_cost import analyze, measure  # noqa: E402
from engine.language.expressions import CompiledExpression  # noqa: E402
from engine.limits import COST_BYTES_BUDGET, COST_STEPS_BUDGET, STEPS_PER_INPUT_ITEM  # noqa: E402

BODY = " || ".join(f"a + b == {-i - 1}" for i in range(8))
CASES = {
    "nested exists, 8-term body (steps)": (f"event.items.exists(a, event.items.exists(b, {BODY}))", "ints"),
    "map building strings (units)": ("event.items.map(x, event.text + event.text).size() > 0", "text"),
    "nested map (units)": ("event.items.map(x, event.items.map(y, x)).size() > 0", "ints"),
    "read a large list (conversion)": ("size(event.items) > 0", "ints"),
    "scan a large string": ("event.text.contains('needle')", "text"),
}


def inputs(kind: str, n: int) -> dict:
    if kind == "ints":
        return {"event": {"items": list(range(n))}}
    return {"event": {"items": list(range(max(n // 1000, 1))), "text": "x" * n}}


def largest_fitting(text: str, kind: str) -> int:
    """The largest n whose inputs the runtime would still evaluate."""
    analysis = analyze(text)
    low, high = 1, 1 << 26
    while low < high:
        middle = (low + high + 1) // 2
        cap_items = COST_STEPS_BUDGET / STEPS_PER_INPUT_ITEM
        longest, items, chars = measure(inputs(kind, middle), cap_items, COST_BYTES_BUDGET)
        fits = items <= cap_items and chars <= COST_BYTES_BUDGET
        if fits and analysis.cost(longest, items, chars).within_budget():
            low = middle
        else:
            high = middle - 1
    return low


def one_case(name: str) -> dict:
    text, kind = CASES[name]
    n = largest_fitting(text, kind)
    scope = inputs(kind, n)
    expression = CompiledExpression(text)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    expression.evaluate(scope)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"case": name, "n": n, "seconds": round(seconds, 3), "peak_mib_added": round((peak - before) / 1024, 1)}


def check_overhead() -> float:
    scope = {"event": {"text": "please stop now", "is_final": True}}
    expression = CompiledExpression("event.text.contains('stop')")
    context = {"event": {"text": "please stop now"}}
    checked = min(timeit.repeat(lambda: expression.evaluate(scope), number=20000, repeat=7))
    raw = min(timeit.repeat(lambda: expression.program.execute(context), number=20000, repeat=7))
    return checked / raw


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--case":
        print(json.dumps(one_case(sys.argv[2])))
        return 0
    for name in CASES:
        out = subprocess.run([sys.executable, __file__, "--case", name], capture_output=True, text=True, check=True)
        print(out.stdout.strip())
    print(json.dumps({"check_overhead_ratio": round(check_overhead(), 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
