"""What observability costs: a device event through the runner with tracing off and on, and the import.

Rows, as ratios measured in the same run (interleaved batches, fastest kept):

* `Runner.send` on the runtime bench's ring flow (a CEL guard and a `set` per event),
  tracing off: the hot path checks one module global and makes no span;
* the same with the OpenTelemetry SDK on and every span dropped by its exporter
  (a batch processor, as `OTLP` export runs): what a `lensflow.step` span costs;
* for reference, an API no-op span alone (what each step would cost if spans were
  made with no SDK, instead of checking first);
* importing `opentelemetry.trace` on top of what `validate` already loaded (milliseconds,
  in a fresh interpreter): why `validate` and `graph` never import it.

Usage: python bench/tracing_bench.py [--events N] [--repeat N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402
from runtime_bench import compiled_ring, per_event_runner  # noqa: E402

from engine.tracing import start_tracing, stop_tracing  # noqa: E402

IMPORT_AFTER_VALIDATE = """
import sys, time
sys.path.insert(0, {root!r})
import cli
from commands.validate import cmd_validate
import engine.checks.validate, engine.language.loader
started = time.perf_counter()
import opentelemetry.trace
print((time.perf_counter() - started) * 1000)
"""


class _Dropped(SpanExporter):
    """Takes every span and keeps none: the SDK's own cost, without an exporter's I/O."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def noop_span_seconds(n: int) -> float:
    tracer = trace.NoOpTracerProvider().get_tracer("bench")
    started = time.perf_counter()
    for _ in range(n):
        with tracer.start_as_current_span("lensflow.step", attributes={"lensflow.flow": "ring"}):
            pass
    return (time.perf_counter() - started) / n


def import_ms(repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        code = IMPORT_AFTER_VALIDATE.format(root=str(ROOT))
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        runs.append(float(out))
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5_000, help="events per timed batch")
    parser.add_argument("--repeat", type=int, default=7, help="batches per row, interleaved")
    args = parser.parse_args()
    ring = compiled_ring(nested=False)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Dropped(), max_queue_size=1 << 16))
    off, on, noop = [], [], []
    for _ in range(args.repeat):
        off.append(per_event_runner(args.events, ring))
        start_tracing(provider)
        try:
            on.append(per_event_runner(args.events, ring))
        finally:
            stop_tracing()
        noop.append(noop_span_seconds(args.events))
    provider.shutdown()
    base = min(off)
    print(f"fastest of {args.repeat} interleaved batches of {args.events:,} events each")
    print(f"{'measure':<52}{'value':>14}{'ratio':>9}")
    print(f"{'Runner.send, tracing off':<52}{1 / base:>10,.0f} ev/s{1.0:>8.2f}x")
    print(f"{'Runner.send, SDK on, a step span per event':<52}{1 / min(on):>10,.0f} ev/s{base / min(on):>8.2f}x")
    print(f"{'API no-op span alone (not made: checked first)':<52}{min(noop) * 1e6:>11.1f} us")
    print(f"{'import opentelemetry.trace after validate':<52}{import_ms(5):>11.1f} ms")


if __name__ == "__main__":
    main()
