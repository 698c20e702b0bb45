"""OpenTelemetry spans for a turn, a flow step, a skill call and a model call; off unless asked for.

The engine depends on `opentelemetry-api` only. Spans are made once tracing is on:

* a command started with `--trace-console`, or with `OTEL_TRACES_EXPORTER=console|otlp`
  (or an `OTEL_EXPORTER_OTLP_*ENDPOINT`), sets up the SDK (`export_spans`, the
  `telemetry` extra) and turns tracing on;
* an application embedding Lensflow that set a global `TracerProvider` gets spans
  from its next session host or turn (`adopt_global`);
* a test hands its own provider to `start_tracing`.

Off, a flow step makes no span at all, not even the API's no-op one: that costs about
3.3 µs, a quarter of a device event through the runner (bench/tracing_bench.py); the check
that tracing is off costs a function call. Importing the API costs 8-10 ms, so the fast
commands (`validate`, `graph`) never import this module (tests/commands/test_observability.py).

Spans carry names, codes and counts, never what the wearer says or sees: no utterance,
transcript, HUD text, photo or payload is an attribute, and an exception is recorded as
its type alone (its message may quote the wearer or a model).

    with span("lensflow.skill", {"lensflow.skill": "media.save"}) as current:
        ...
        if current is not None:
            current.set_attribute("lensflow.outcome", "done")
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.util import find_spec
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Span, Status, StatusCode, Tracer

from engine.settings import SettingsError

__all__ = [
    "ENV_EXPORTER",
    "OTLP_PACKAGE",
    "adopt_global",
    "export_spans",
    "failed",
    "span",
    "start_tracing",
    "stop_tracing",
    "tracer",
]

ENV_EXPORTER = "OTEL_TRACES_EXPORTER"
OTLP_PACKAGE = "opentelemetry-exporter-otlp-proto-http"
_OTLP_MODULES = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
)
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_tracer: Tracer | None = None


def start_tracing(provider: trace.TracerProvider | None = None) -> None:
    """Make spans from now on, with `provider` (default: the global one)."""
    global _tracer
    _tracer = (provider or trace.get_tracer_provider()).get_tracer("lensflow")


def stop_tracing() -> None:
    """Make no more spans (a test that turned tracing on turns it off again)."""
    global _tracer
    _tracer = None


def tracer() -> Tracer | None:
    """The tracer when tracing is on, else None: the hot path's whole cost when it is off."""
    return _tracer


def adopt_global() -> Tracer | None:
    """Turn tracing on when the application has set a global provider (an SDK); the tracer, or None.

    Asked where it costs nothing beside the work (a session host made, a turn begun), never per event."""
    if _tracer is None and not isinstance(trace.get_tracer_provider(), ProxyTracerProvider | NoOpTracerProvider):
        start_tracing()
    return _tracer


def failed(current: Span, exc: BaseException) -> None:
    """Mark a span failed by `exc`, naming its type only (the message may quote the wearer or a model)."""
    current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
    code = getattr(exc, "code", None)
    current.set_attribute("error.type", code if isinstance(code, str) and code else type(exc).__name__)


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Span | None]:
    """A span around the block, current inside it (children nest), or None when tracing is off."""
    current_tracer = _tracer
    if current_tracer is None:
        yield None
        return
    with current_tracer.start_as_current_span(
        name, attributes=dict(attributes or {}), record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            failed(current, exc)
            raise


def _exporter_asked(console: bool, env: Mapping[str, str]) -> str | None:
    """Which exporter the flags and environment ask for: console, otlp, or None."""
    if console:
        return "console"
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    name = env.get(ENV_EXPORTER, "").strip().lower()
    if not name:
        return "otlp" if any(env.get(key) for key in _ENDPOINTS) else None
    if name == "none":
        return None
    if name not in ("console", "otlp"):
        raise SettingsError(ENV_EXPORTER, f"'{name}' is not an exporter Lensflow sets up; use console, otlp or none")
    return name


def _otlp_exporter() -> Any:
    """The OTLP exporter, when its package is installed (HTTP first, then gRPC); never installed by Lensflow."""
    for name in _OTLP_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return module.OTLPSpanExporter()
    raise SettingsError(ENV_EXPORTER, f"otlp export needs {OTLP_PACKAGE} installed: pip install {OTLP_PACKAGE}")


def export_spans(service: str, console: bool = False, env: Mapping[str, str] | None = None) -> str | None:
    """Set up the SDK and turn tracing on when asked (see the module docstring); what was set up, or None.

    Console spans are JSON on stderr, one a line (stdout stays the command's). `service` names the
    process (`lensflow-serve` ...) unless OTEL_SERVICE_NAME does."""
    env = os.environ if env is None else env
    exporter = _exporter_asked(console, env)
    if exporter is None:
        return None
    try:
        found = find_spec("opentelemetry.sdk") is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise SettingsError(
            "--trace-console" if console else ENV_EXPORTER,
            "spans are exported with the 'telemetry' extra (opentelemetry-sdk is not installed): "
            "pip install 'lensflow[telemetry]'",
        )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    named = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(named))
    if exporter == "console":
        one_line = ConsoleSpanExporter(out=sys.stderr, formatter=lambda s: s.to_json(indent=None) + "\n")
        provider.add_span_processor(SimpleSpanProcessor(one_line))
    else:
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
    trace.set_tracer_provider(provider)
    start_tracing(provider)
    return exporter
