"""Validator speed, as ratios measured in the same run (machines here are noisy).

1. Validate 1,000 generated flows of ~100 lines each, against `yaml.CSafeLoader`
   alone parsing the same files. Target: at most 5x.
2. `python cli.py validate` of one file (a fresh process, wall time) against
   `python -c "import yaml, jsonschema"`. Target: at most 3x.

Usage: python bench/validate_bench.py [--flows N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from engine.checks.config import Config  # noqa: E402
from engine.checks.validate import validate_paths  # noqa: E402

STATE = """\
  s{i}:
    entry:
      - hud.show: {{layout: card, title: "Step {i}", body: "{{{{ slots.topic }}}}"}}
      - set: {{vars.count: "{i}"}}
    invoke:
      skill: translate.text
      with: {{text: "{{{{ slots.topic }}}}", target: "{{{{ slots.lang }}}}"}}
      as: r{i}
      timeout: 5s
      retry: {{max: 1, backoff: 500ms}}
      on_done: {next}
      on_error: failed
    after: {{30s: failed}}
    on:
      gesture.swipe_down: cancelled
      asr.transcript:
        - if: "event.text.contains('next') && vars.count >= 0"
          target: {next}
        - target: s{i}
"""

HEADER = """\
# yaml-language-server: $schema=../schemas/flow.schema.json
flow: bench_{n}
version: 1
title: Benchmark flow {n}
description: A generated flow for the validator benchmark.
permissions: [display, microphone, network]
requires: [display]
triggers:
  phrases: ["bench phrase {n}"]
slots:
  topic: {{type: string, description: What to show}}
  lang: {{type: language, default: en}}
initial: s0
states:
"""

FOOTER = """\
  done: {type: final, entry: [{hud.show: {layout: toast, text: Done}}]}
  failed: {type: final}
  cancelled: {type: final}
"""


def make_flow(n: int, states: int = 4) -> str:
    body = "".join(STATE.format(i=i, next=f"s{i + 1}" if i + 1 < states else "done") for i in range(states))
    return HEADER.format(n=n) + body + FOOTER


def write_flows(folder: Path, count: int) -> list[Path]:
    paths = []
    for n in range(count):
        path = folder / f"bench_{n:04d}.yaml"
        path.write_text(make_flow(n), encoding="utf-8")
        paths.append(path)
    return paths


def time_yaml(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
    return time.perf_counter() - started


def time_validate(folder: Path) -> tuple[float, int]:
    started = time.perf_counter()
    result = validate_paths([str(folder)], Config())
    elapsed = time.perf_counter() - started
    return elapsed, len(result.findings)


def wall(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=False, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli-runs", type=int, default=9)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lensflow-bench-") as tmp:
        many = Path(tmp) / "many"
        many.mkdir()
        paths = write_flows(many, args.flows)
        lines = sum(p.read_text().count("\n") for p in paths) / len(paths)

        single_dir = Path(tmp) / "single"
        single_dir.mkdir()
        single = write_flows(single_dir, 1)[0]

        validate_paths([str(single)], Config())  # warm caches (generated schema code)
        yaml_times, validate_times, findings = [], [], 0
        for _ in range(args.repeat):  # interleaved so both see the same machine load
            yaml_times.append(time_yaml(paths))
            elapsed, findings = time_validate(many)
            validate_times.append(elapsed)
        t_yaml, t_validate = statistics.median(yaml_times), statistics.median(validate_times)

        cli = [sys.executable, "cli.py", "validate", "--format", "json", str(single)]
        base = [sys.executable, "-c", "import yaml, jsonschema"]
        wall(cli)  # warm the OS cache and the schema cache
        cli_times, base_times = [], []
        for _ in range(args.cli_runs):
            base_times.append(wall(base))
            cli_times.append(wall(cli))
        t_cli, t_base = statistics.median(cli_times), statistics.median(base_times)

    ratio_bulk = t_validate / t_yaml
    ratio_cli = t_cli / t_base
    print(f"flows: {args.flows} x {lines:.0f} lines; findings: {findings}")
    print(f"{'measure':<44}{'seconds':>10}")
    print(f"{'yaml.CSafeLoader parse, all flows':<44}{t_yaml:>10.3f}")
    print(f"{'validate, all flows':<44}{t_validate:>10.3f}")
    print(f"{'python -c import yaml, jsonschema':<44}{t_base:>10.3f}")
    print(f"{'cli.py validate one file':<44}{t_cli:>10.3f}")
    print(f"bulk ratio validate / CSafeLoader: {ratio_bulk:.2f}x (target <= 5x) {'OK' if ratio_bulk <= 5 else 'OVER'}")
    print(f"cli ratio validate one file / import: {ratio_cli:.2f}x (target <= 3x) {'OK' if ratio_cli <= 3 else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
