"""How text handling, routing and the per-state work scale: seconds for n and 4n, same run.

A linear step takes ~4x as long for 4x the input; a quadratic one ~16x. Each case
is timed as the best of `--repeat` runs (machines here are noisy; the ratio is what
matters). Cases:

* wrap: one word of n characters, CJK text, prose (engine.language.textwidth.wrap);
* fit_line: n zero-width characters before the cut (devices.hud.layout.fit_line);
* template stripping: n unclosed `{{` (the hud-overflow rule);
* number search: "pay" + n words (engine.language.slot_values.find_number);
* routing: "pay" + n words, with the 2,000-character limit lifted to time the algorithm;
* validate: a flow of n chained states (every flow rule), and a toast of n characters;
* compile: n chained states, and one state with n guarded branches of one event.

Usage: python bench/text_scaling_bench.py [--repeat R] [--target X] [--gc]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import engine.assistant.routing as routing  # noqa: E402
import engine.runtime.compiler as compiler  # noqa: E402
from devices.hud.layout import fit_line  # noqa: E402
from engine.checks.config import Config  # noqa: E402
from engine.checks.hud import without_templates  # noqa: E402
from engine.checks.validate import validate_paths  # noqa: E402
from engine.language.catalog import HudGeometry, load_catalog  # noqa: E402
from engine.language.loader import load_flow  # noqa: E402
from engine.language.slot_values import find_number  # noqa: E402
from engine.language.textwidth import wrap  # noqa: E402

QUARK = HudGeometry(5, 38, 14)
KEEP_GC = False
HEADER = """\
flow: {name}
version: 1
title: Generated
description: A generated flow for the scaling benchmark.
permissions: [display]
requires: [display]
triggers:
  phrases: ["{name} now"]
initial: s0
states:
"""


def best(run: Callable[[], Any], repeat: int) -> float:
    """Best of `repeat` runs, with the cyclic garbage collector paused while timing.

    A full collection costs time in proportion to every live object, so it adds a
    superlinear term to any step that allocates a lot; that is the interpreter's cost,
    not the algorithm's (run with --gc to include it).
    """
    times = []
    for _ in range(repeat):
        gc.collect()
        if not KEEP_GC:
            gc.disable()
        try:
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        finally:
            gc.enable()
    return min(times)


def chain(folder: Path, n: int) -> Path:
    path = folder / f"chain_{n}" / "flow.yaml"  # alone in its folder: validate also reads neighbours
    path.parent.mkdir(exist_ok=True)
    body = "".join(f"  s{i}:\n    on: {{gesture.tap: s{i + 1}}}\n" for i in range(n))
    path.write_text(HEADER.format(name="chain") + body + f"  s{n}: {{type: final}}\n", encoding="utf-8")
    return path


def toast(folder: Path, n: int) -> Path:
    path = folder / f"toast_{n}" / "flow.yaml"  # alone in its folder: validate also reads neighbours
    path.parent.mkdir(exist_ok=True)
    body = f'  s0:\n    entry:\n      - hud.show: {{layout: toast, text: "{"x" * n}"}}\n    on: {{gesture.tap: done}}\n'
    path.write_text(HEADER.format(name="toast") + body + "  done: {type: final}\n", encoding="utf-8")
    return path


def fan(folder: Path, n: int) -> Path:
    path = folder / f"fan_{n}" / "flow.yaml"  # alone in its folder: validate also reads neighbours
    path.parent.mkdir(exist_ok=True)
    body = "  s0:\n    on:\n      asr.transcript:\n"
    body += "".join(f"        - {{if: \"event.text == 'w{i}'\", target: t{i}}}\n" for i in range(n))
    body += "".join(f"  t{i}: {{type: final}}\n" for i in range(n))
    path.write_text(HEADER.format(name="fan") + body, encoding="utf-8")
    return path


def validate_file(path: Path, config: Config) -> Callable[[], Any]:
    return lambda: validate_paths([str(path)], config)


def compile_file(path: Path) -> Callable[[], Any]:
    built = load_flow(path).built
    assert built is not None, f"{path} cannot be read as a flow"
    flow = built.flow
    catalog = load_catalog()
    return lambda: compiler.build(flow, catalog)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", type=float, default=6.0, help="largest acceptable 4n/n ratio (default 6)")
    parser.add_argument("--gc", action="store_true", help="keep the garbage collector running while timing")
    args = parser.parse_args()
    global KEEP_GC
    KEEP_GC = args.gc

    from tests.support.routing import shipped_router

    router = shipped_router()
    routing.MAX_UTTERANCE_CHARS = 10**9  # likewise: time the router on the whole utterance
    with tempfile.TemporaryDirectory(prefix="lensflow-scaling-") as folder:
        return run_cases(router, Path(folder), args.repeat, args.target)


def run_cases(router: Any, tmp: Path, repeat: int, target: float) -> int:
    config = Config()

    cases: list[tuple[str, int, Callable[[int], Callable[[], Any]]]] = [
        ("wrap: one long word (chars)", 50_000, lambda n: lambda: wrap("x" * n, 38, 14)),
        ("wrap: CJK text (chars)", 50_000, lambda n: lambda: wrap("扫码支付成功您的" * (n // 8), 38, 14)),
        ("wrap: prose (chars)", 50_000, lambda n: lambda: wrap(("pay the merchant " * n)[:n], 38, 14)),
        ("fit_line: zero-width run (chars)", 4_000, lambda n: lambda: fit_line("\u200b" * n + "x" * 60, QUARK)),
        ("hud rule: unclosed {{ (count)", 20_000, lambda n: lambda: without_templates("{{ a " * n)),
        ("find_number: pay + words", 1_000, lambda n: lambda: find_number("pay " + "lunch " * n)),
        ("route, no limit: pay + words", 1_000, lambda n: lambda: router.route("pay " + "lunch " * n)),
        ("validate: toast (chars)", 50_000, lambda n: validate_file(toast(tmp, n), config)),
        ("validate: chained states", 5_000, lambda n: validate_file(chain(tmp, n), config)),
        ("compile: chained states", 5_000, lambda n: compile_file(chain(tmp, n))),
        ("compile: branches of one event", 1_000, lambda n: compile_file(fan(tmp, n))),
    ]
    validate_paths([str(chain(tmp, 2))], config)  # warm caches (generated schema code, catalogue)
    print(f"{'case':<36}{'n':>9}{'t(n) s':>10}{'t(4n) s':>10}{'ratio':>8}")
    worst = 0.0
    for name, n, make in cases:
        small, large = make(n), make(4 * n)
        small()  # warm up
        t_small, t_large = best(small, repeat), best(large, repeat)
        ratio = t_large / t_small
        worst = max(worst, ratio)
        flag = "OK" if ratio <= target else "OVER"
        print(f"{name:<36}{n:>9}{t_small:>10.4f}{t_large:>10.4f}{ratio:>7.1f}x {flag}")
    print(f"worst ratio 4n/n: {worst:.1f}x (linear ~4x, quadratic ~16x; target <= {target:g}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
