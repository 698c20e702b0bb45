"""Spans recorded in memory by the OpenTelemetry SDK, with tracing on only while a test needs it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from engine.tracing import start_tracing, stop_tracing


@contextlib.contextmanager
def recorded_spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into an in-memory exporter (this provider only: the global one is left alone)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    start_tracing(provider)
    try:
        yield exporter
    finally:
        stop_tracing()
        provider.shutdown()


def parent_of(span: ReadableSpan, spans: list[ReadableSpan]) -> ReadableSpan | None:
    """The recorded span `span` is a child of, if it was recorded."""
    if span.parent is None:
        return None
    return next((s for s in spans if s.context is not None and s.context.span_id == span.parent.span_id), None)


def attribute_values(spans: list[ReadableSpan]) -> list[Any]:
    """Every attribute value of every span, for tests that look for what must not be there."""
    return [value for s in spans for value in (s.attributes or {}).values()]
