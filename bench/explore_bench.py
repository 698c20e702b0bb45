"""Exploration and flow tests: coverage and time, with the same-run ratios that can be taken in one run.

Cases:

* coverage curves within the default budget: chains of 10, 30, 100, 300 states (a wizard whose
  every tenth state asks for a number) and 1-3 parallel regions of 30 states, each moved by its own
  gesture; a flow the compiler refuses is reported as such;
* `explore flows/`: seconds, configurations and milliseconds per configuration for each shipped flow;
* loading the shipped folder: each flow with its neighbours one by one (every neighbour read again
  for each flow) against the whole folder at once, same run;
* one scripted model call: the server answering headers and body in two writes with Nagle's
  algorithm on, against one write without it, same run;
* `test flows/`: seconds for each test file (the previous code cannot run in the same process,
  so these are absolute).

Usage: python bench/explore_bench.py [--quick]   (--quick: chains up to 100 states, no flow tests)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.designer.explore import DEFAULT_MAX_NODES, explore  # noqa: E402
from engine.runnable import NotRunnable, load_runnable, load_runnables  # noqa: E402
from tests.support.big_flows import chain_flow, regions_flow  # noqa: E402


def coverage_rows(folder: Path, quick: bool) -> None:
    print(f"coverage within the default budget ({DEFAULT_MAX_NODES} configurations)")
    print(f"{'flow':<24}{'coverage':>10}{'configurations':>16}{'seconds':>10}")
    cases: list[tuple[str, Path]] = [(f"chain of {n}", chain_flow(folder, n)) for n in (10, 30, 100, 300)]
    if quick:
        cases = cases[:3]
    cases += [(f"{k} region(s) of 30", regions_flow(folder, k, 30)) for k in (1, 2, 3)]
    for name, path in cases:
        try:
            compiled, main_id, _ = load_runnable(path)
        except NotRunnable as exc:
            print(f"{name:<24}  refused: {exc.lines[0].split(': ', 1)[-1][:70]}")
            continue
        started = time.perf_counter()
        report = explore(compiled[main_id])
        seconds = time.perf_counter() - started
        bounded = " (bounded)" if report.truncated else ""
        print(f"{name:<24}{report.coverage:>9.0f}%{report.nodes:>16}{seconds:>10.2f}{bounded}")


def explore_rows() -> None:
    files = sorted((ROOT / "flows").glob("*.yaml"))
    runnables = load_runnables(files)
    print("\nexplore flows/ (absolute)")
    print(f"{'flow':<24}{'seconds':>10}{'configurations':>16}{'ms/config':>11}")
    total = 0.0
    for path in files:
        loaded = runnables[path]
        assert not isinstance(loaded, NotRunnable), loaded
        compiled, main_id, _ = loaded
        started = time.perf_counter()
        report = explore(compiled[main_id])
        seconds = time.perf_counter() - started
        total += seconds
        print(f"{main_id:<24}{seconds:>10.2f}{report.nodes:>16}{1000 * seconds / max(report.nodes, 1):>11.2f}")
    print(f"{'all':<24}{total:>10.2f}")


def loading_rows() -> None:
    files = sorted((ROOT / "flows").glob("*.yaml"))
    load_runnables(files)  # warm the catalogue and the schema code

    def one_by_one() -> None:
        for path in files:
            load_runnable(path)

    def at_once() -> None:
        load_runnables(files)

    each, once = best(one_by_one), best(at_once)
    print(f"\nloading flows/ ({len(files)} flows): one by one {each:.3f} s, the folder at once {once:.3f} s")
    print(f"  ratio one-by-one / at-once: {each / once:.1f}x (same run)")


def best(run: Any, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def model_call_rows() -> None:
    from flowtests.scripted_llm import OpenAICompatServer
    from skills.qwen.client import LlmSettings, QwenClient, run_closing

    class TwoWrites(OpenAICompatServer):
        """The server as it was: status and headers in one write, the body in another, Nagle on."""

        def _listen(self, port: int) -> Any:
            httpd = super()._listen(port)
            httpd.RequestHandlerClass = type(
                "Handler", (self._handler,), {"disable_nagle_algorithm": False, "wbufsize": 0}
            )
            return httpd

    async def calls(server: OpenAICompatServer, n: int) -> float:
        client = QwenClient(LlmSettings(base_url=server.base_url, api_key_env="HOME", max_retries=0))
        await client.chat([{"role": "user", "content": "warm up"}])
        times = []
        for _ in range(n):
            started = time.perf_counter()
            await client.chat([{"role": "user", "content": "hi"}])
            times.append(time.perf_counter() - started)
        await client.aclose()
        return statistics.median(times)

    medians = {}
    for name, kind in (("two writes, Nagle on", TwoWrites), ("one write, TCP_NODELAY", OpenAICompatServer)):
        server = kind(repeat=True).start()
        server.reply(content="hello")
        try:
            medians[name] = run_closing(calls(server, 20))
        finally:
            server.stop()
    print("\none scripted model call (median of 20, same run)")
    for name, seconds in medians.items():
        print(f"  {name:<24}{1000 * seconds:>8.2f} ms")
    old, new = medians.values()
    print(f"  ratio: {old / new:.0f}x")


def flow_test_rows() -> None:
    from flowtests.cases import find_test_files, run_files

    print("\ntest flows/ (absolute)")
    started = time.perf_counter()
    for result in run_files(find_test_files([str(ROOT / "flows")])):
        seconds = sum(c.seconds for c in result.cases)
        print(f"  {Path(result.file).name:<28}{len(result.cases):>4} cases{seconds:>8.2f} s")
    print(f"  all, loading included: {time.perf_counter() - started:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lensflow-explore-bench-") as folder:
        coverage_rows(Path(folder), args.quick)
    explore_rows()
    loading_rows()
    model_call_rows()
    if not args.quick:
        flow_test_rows()
    asyncio.set_event_loop(None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
